from __future__ import annotations

import time
from pathlib import Path
from uuid import uuid4

import jwt
import pytest
from typer.testing import CliRunner

from infra.cli import cli
from infra.identity import keys as key_files
from infra.identity.keys import (
    KeyFolder,
    KeyFolderError,
    activation_of,
    load_key_ring,
    retire_key,
    rotate_key,
)
from infra.identity.memory_stores import InMemoryRevocationStore
from write_side.errors import AuthenticationError
from write_side.identity.tokens import TokenService


def test_after_a_rotation_old_tokens_verify_until_their_key_is_retired(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(key_files, "RELOAD_EVERY_SECONDS", 0.0)
    old_kid = rotate_key(tmp_path)
    folder = KeyFolder(tmp_path)
    tokens = TokenService(folder, InMemoryRevocationStore())
    user_id = uuid4()
    old_token = tokens.issue(user_id).access_token

    new_kid = rotate_key(tmp_path)
    new_token = tokens.issue(user_id).access_token
    assert folder().signing_kid == new_kid
    assert {key["kid"] for key in tokens.jwks()["keys"]} == {old_kid, new_kid}
    assert tokens.verify_access(old_token).user_id == user_id
    assert tokens.verify_access(new_token).user_id == user_id

    retire_key(tmp_path, old_kid)
    with pytest.raises(AuthenticationError):
        tokens.verify_access(old_token)
    assert tokens.verify_access(new_token).user_id == user_id


def test_the_signing_key_cannot_be_retired(tmp_path: Path) -> None:
    kid = rotate_key(tmp_path)
    with pytest.raises(KeyFolderError):
        retire_key(tmp_path, kid)


def test_a_folder_without_keys_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyFolderError, match="itinera keys rotate"):
        load_key_ring(tmp_path)


def test_private_keys_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    kid = rotate_key(tmp_path)
    assert (tmp_path / f"{kid}.pem").stat().st_mode & 0o077 == 0


def test_a_rotated_key_is_published_at_once_and_signs_only_from_its_activation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(key_files, "RELOAD_EVERY_SECONDS", 0.0)
    now = [time.time()]
    old_kid = rotate_key(tmp_path)
    folder = KeyFolder(tmp_path, clock=lambda: now[0])
    tokens = TokenService(folder, InMemoryRevocationStore(), clock=lambda: now[0])

    new_kid = rotate_key(tmp_path, activate_after=30)
    fresh = KeyFolder(tmp_path, clock=lambda: now[0])  # an instance started since
    for instance in (folder, fresh):
        assert instance().signing_kid == old_kid
        assert new_kid in instance().public_keys
    assert new_kid in {key["kid"] for key in tokens.jwks()["keys"]}

    # No change to the folder: the schedule alone hands over. (From the activation itself:
    # generating the keys under load took more than a second once, and 31 s after the start
    # of the test fell before it.)
    now[0] = activation_of(tmp_path, new_kid) + 1
    assert fresh().signing_kid == new_kid
    assert folder().signing_kid == new_kid
    token = tokens.issue(uuid4()).access_token
    assert jwt.get_unverified_header(token)["kid"] == new_kid


def test_a_key_scheduled_to_sign_cannot_be_retired(tmp_path: Path) -> None:
    rotate_key(tmp_path)
    pending = rotate_key(tmp_path, activate_after=30)
    with pytest.raises(KeyFolderError, match="scheduled"):
        retire_key(tmp_path, pending)


def test_a_signing_file_of_the_older_format_still_loads(tmp_path: Path) -> None:
    kid = rotate_key(tmp_path)
    (tmp_path / key_files.SIGNING_FILE).write_text(kid)
    assert load_key_ring(tmp_path).signing_kid == kid


def test_keys_rotate_says_when_the_new_key_signs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ITINERA_KEYS_DIR", str(tmp_path))
    runner = CliRunner()
    first = runner.invoke(cli, ["keys", "rotate"])
    assert first.exit_code == 0 and "signs now" in first.output, first.output
    second = runner.invoke(cli, ["keys", "rotate"])
    assert second.exit_code == 0 and "signs from" in second.output, second.output
    listed = runner.invoke(cli, ["keys", "list"]).output.splitlines()
    marks = sorted(line.split("  ")[1] for line in listed)
    assert len(marks) == 2 and marks[0].startswith("(signing)") and marks[1].startswith("(signs")
    urgent = runner.invoke(cli, ["keys", "rotate", "--now"])
    assert "signs now" in urgent.output
    assert load_key_ring(tmp_path).signing_kid == urgent.output.split()[3]
