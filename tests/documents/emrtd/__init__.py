"""eMRTD (ICAO Doc 9303): BAC, PACE, secure messaging, LDS files and passive authentication."""
