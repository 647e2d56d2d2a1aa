"""The served app leaves what its start built out of the garbage collector's full passes (a
pass over them all took 130 to 180 ms under load on a slow machine); an app made in a test
process does not, or every app the suite makes would be kept."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from uvicorn.importer import import_from_string

from api.main import create_app, create_served_app
from infra.cli.roles import APP_FACTORY
from infra.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # what the test froze is the garbage collector's again


def test_the_served_app_freezes_what_its_start_built(
    api_settings: Settings, unfrozen: None
) -> None:
    assert import_from_string(APP_FACTORY) is create_served_app  # what `itinera serve` runs
    with TestClient(create_app(api_settings, settle_heap=True)) as client:
        assert gc.get_freeze_count() > 10_000
        assert client.get("/health").status_code == 200


def test_an_app_made_in_a_test_process_freezes_nothing(
    api_settings: Settings, unfrozen: None
) -> None:
    with TestClient(create_app(api_settings)) as client:
        assert client.get("/health").status_code == 200
        assert gc.get_freeze_count() == 0
