"""The HTTP API: FastAPI app, routers, dependencies, envelope and error mapping."""
