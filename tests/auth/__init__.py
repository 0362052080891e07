"""Staff login, sessions, CSRF, API keys and the role matrix."""
