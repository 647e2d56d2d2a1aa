from __future__ import annotations

import warnings

from api.main import create_app
from infra.settings import Settings

PUBLIC = {
    "/health",
    "/health/projections",
    "/.well-known/jwks.json",
    "/api/v1/auth/keys/public",
}


def test_every_endpoint_has_a_description_and_documents_its_errors() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # duplicate operation ids warn
        spec = create_app(Settings(database_url="postgresql://unused")).openapi()
    operations = [
        (path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()
    ]
    assert len(operations) >= 38
    for path, method, op in operations:
        assert op.get("description"), f"{method} {path} has no description"
        if path not in PUBLIC:
            errors = set(op["responses"]) - {"200", "201"}
            assert {"401", "422"} <= errors or path.startswith("/api/v1/auth"), (path, errors)
