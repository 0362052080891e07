"""Storage: envelope encryption at rest and key rotation."""
