"""`itinera api` refuses a configuration that would quietly weaken it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from infra.cli import cli


def test_several_workers_without_redis_are_refused_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ITINERA_REDIS_URL", raising=False)
    monkeypatch.setenv("ITINERA_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/never-reached")
    result = CliRunner().invoke(cli, ["api", "--workers", "2"])
    assert result.exit_code == 2
    assert "--workers 2 needs ITINERA_REDIS_URL" in result.output
