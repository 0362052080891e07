"""HTTP edge: routers (thin), dependencies, error envelope, middleware. Rules live in the domain services."""
