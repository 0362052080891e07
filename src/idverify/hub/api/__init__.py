"""The hub's HTTP layer: thin routes over the hub services (witness, feed, clinics, alerts, statistics)."""
