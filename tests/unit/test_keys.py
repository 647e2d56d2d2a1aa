from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from infra.identity import keys as key_files
from infra.identity.keys import KeyFolder, KeyFolderError, load_key_ring, retire_key, rotate_key
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
