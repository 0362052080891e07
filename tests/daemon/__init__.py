"""The daemon itself: settings, the start-up gate, health, metrics, logs and the housekeeping loop."""
