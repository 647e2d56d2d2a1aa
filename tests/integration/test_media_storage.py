"""The media storage port's contract, which both adapters pass: the data-directory folder and
S3-compatible object storage (a real S3-protocol server, moto, over HTTP)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from infra.media.folder import FolderStorage
from infra.media.s3 import S3Storage
from infra.media.wiring import media_storage
from infra.settings import Settings
from tests.s3 import CREDENTIALS, REGION, s3_bucket, s3_client
from tests.s3 import s3_endpoint as s3_endpoint  # a fixture
from tests.services import free_port
from write_side.avatars.ports import MediaStorage
from write_side.errors import DependencyUnavailableError

Read = Callable[[str], bytes | None]  # a stored file by key, None when there is none


def _folder(tmp_path: Path) -> tuple[MediaStorage, Read]:
    root = tmp_path / "media"

    def read(key: str) -> bytes | None:
        path = root / key
        return path.read_bytes() if path.is_file() else None

    return FolderStorage(root, "/media"), read


def _s3(endpoint: str) -> tuple[MediaStorage, Read]:
    bucket = s3_bucket(endpoint)
    settings = Settings(
        storage="s3",
        s3_bucket=bucket,
        s3_endpoint_url=endpoint,
        s3_region=REGION,
        s3_access_key_id=CREDENTIALS["aws_access_key_id"],
        s3_secret_access_key=CREDENTIALS["aws_secret_access_key"],
    )
    storage = media_storage(settings)  # as the API builds it
    assert isinstance(storage, S3Storage)
    client = s3_client(endpoint)

    def read(key: str) -> bytes | None:
        try:
            body: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            return None
        return body

    return storage, read


@pytest.fixture(params=["folder", "s3"])
def adapter(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[MediaStorage, Read]:
    if request.param == "folder":
        return _folder(tmp_path)
    return _s3(request.getfixturevalue("s3_endpoint"))


def test_put_replaces_and_delete_takes_exactly_a_prefix(adapter: tuple[MediaStorage, Read]) -> None:
    storage, read = adapter
    storage.put("avatars/u1/aaa-64.webp", b"first", "image/webp")
    storage.put("avatars/u1/aaa-64.webp", b"second", "image/webp")
    storage.put("avatars/u1/aaa-512.webp", b"large", "image/webp")
    storage.put("avatars/u1/bbb-64.webp", b"other", "image/webp")
    storage.put("avatars/u10/aaa-64.webp", b"another user", "image/webp")
    assert read("avatars/u1/aaa-64.webp") == b"second"

    storage.delete("avatars/u1/aaa-")
    assert read("avatars/u1/aaa-64.webp") is None and read("avatars/u1/aaa-512.webp") is None
    assert read("avatars/u1/bbb-64.webp") == b"other"

    storage.delete("avatars/u1/")
    assert read("avatars/u1/bbb-64.webp") is None
    assert read("avatars/u10/aaa-64.webp") == b"another user"  # u1/ is not a prefix of u10/
    storage.delete("avatars/nobody/")  # nothing there: nothing happens


def test_a_url_ends_with_its_key(adapter: tuple[MediaStorage, Read]) -> None:
    storage, _ = adapter
    assert storage.url("avatars/u1/aaa-64.webp").endswith("/avatars/u1/aaa-64.webp")


@pytest.mark.parametrize("key", ["../keys/signing", "avatars/../../x", "/etc/passwd", "a//b"])
def test_the_folder_refuses_a_key_that_could_leave_it(tmp_path: Path, key: str) -> None:
    storage = FolderStorage(tmp_path / "media", "/media")
    with pytest.raises(ValueError, match="not a media key"):
        storage.put(key, b"x", "image/webp")
    assert not (tmp_path / "keys").exists()


def test_unreachable_object_storage_is_a_dependency_failure() -> None:
    port = free_port()  # nothing listens there
    settings = Settings(
        s3_bucket="b",
        s3_endpoint_url=f"http://127.0.0.1:{port}",
        s3_region=REGION,
        s3_access_key_id="x",
        s3_secret_access_key="y",
    )
    storage = media_storage(settings)
    with pytest.raises(DependencyUnavailableError):
        storage.put("avatars/u/a-64.webp", b"x", "image/webp")
