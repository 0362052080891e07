"""Staff accounts, passwords, web sessions and API keys, and the roles that gate every endpoint.

Owns who may do what; knows nothing of patients or biometrics. Secrets (passwords, session tokens, API keys)
are stored only as hashes.
"""
