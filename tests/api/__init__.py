"""The REST API: error envelope and bad input, the whole schema under schemathesis, audit, devices, webhooks."""
