"""The web UI: pages, accessibility and browser journeys (Chromium)."""
