from __future__ import annotations

import warnings

from api.main import create_app
from infra.settings import Settings

PUBLIC = {
    "/health",
    "/health/projections",
    "/health/ready",
    "/health/db",
    "/health/redis",
    "/health/kafka",
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


SEED_NAMES = {
    "TripView": {"creator", "created_at", "updated_at", "currency"},
    "DestinationView": {"trip_id", "created_at", "updated_at", "time_zone", "order"},
    "ActivityView": {"destination_id", "start_time", "end_time", "created_at", "updated_at"},
    "MemberView": {"joined_at", "invited_by", "username"},
    "UserProfileView": {"avatar"},
    "CreateActivityBody": {"start_time", "end_time", "cost"},
    "ProfileBody": {"avatar"},
    "ReorderBody": {"order"},
    "CreateTripBody": {"currency"},
    "CreateDestinationBody": {"time_zone", "trip_id"},
}


def test_the_seeds_names_are_in_the_documented_shapes() -> None:
    spec = create_app(Settings(database_url="postgresql://unused")).openapi()
    schemas = spec["components"]["schemas"]
    for schema, names in SEED_NAMES.items():
        assert names <= set(schemas[schema]["properties"]), (schema, names)
    trip = spec["paths"]["/api/v1/trips/{trip_id}"]["get"]["responses"]["200"]
    assert trip["content"]["application/json"]["schema"]["$ref"].endswith("/TripViewEnvelope")
    created = spec["paths"]["/api/v1/activities"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"].endswith(
        "/CommandResultBodyEnvelope"
    )


# (METHOD, path) of 2xx answers that are not JSON: none today (/metrics, Prometheus text, is
# left out of the document altogether).
NOT_JSON: set[tuple[str, str]] = set()


def test_every_success_declares_the_schema_of_its_json_body() -> None:
    spec = create_app(Settings(database_url="postgresql://unused")).openapi()
    undeclared = [
        f"{method.upper()} {path} {status}"
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        for status, response in op["responses"].items()
        if status.startswith("2")
        and status != "204"
        and (method.upper(), path) not in NOT_JSON
        and not response.get("content", {}).get("application/json", {}).get("schema")
    ]
    assert undeclared == []
    assert "/metrics" not in spec["paths"]
    ready = spec["paths"]["/health/ready"]["get"]["responses"]
    assert ready["503"]["content"] == ready["200"]["content"]  # the same body, down or not
    keys = spec["paths"]["/api/v1/auth/keys/public"]["get"]["responses"]["200"]
    assert keys["content"]["application/json"]["schema"]["$ref"].endswith("/JsonWebKeySetEnvelope")
