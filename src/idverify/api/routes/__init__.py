"""Routers, one module per resource; each endpoint names the role it needs in its signature."""
