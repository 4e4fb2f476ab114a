"""Pydantic request and response models, shared by the REST API, the agent tools and the CLI."""
