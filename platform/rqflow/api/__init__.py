"""The REST API: FastAPI routes, each a thin shell over a service."""
