"""Avatar upload through the API, over real PostgreSQL and Redis, with the files in the data
directory (served at /media) or in a real S3-protocol server (moto in server mode, over HTTP):
every storage test runs against both."""

from __future__ import annotations

import io
import os
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from api.main import create_app
from infra.settings import Settings
from tests.integration.conftest import Signup
from tests.s3 import CREDENTIALS, REGION, s3_bucket, s3_client
from tests.s3 import s3_endpoint as s3_endpoint  # a fixture

LIMIT = 200_000  # ITINERA_AVATAR_MAX_BYTES in these tests
SIZES = {"64", "256", "512"}
IMMUTABLE = "public, max-age=31536000, immutable"
GPS_IFD = 0x8825


# --- the storage modes -----------------------------------------------------------------------


@dataclass
class Storage:
    mode: str
    settings: dict[str, Any]
    keys: Callable[[], set[str]]  # what is stored now
    fetch: Callable[[TestClient, str], httpx.Response]  # a stored file by its public URL


def _folder(tmp_path: Path) -> Storage:
    root = tmp_path / "media"

    def keys() -> set[str]:
        if not root.exists():
            return set()
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}

    def fetch(client: TestClient, url: str) -> httpx.Response:
        assert url.startswith("/media/"), url
        return client.get(url)

    return Storage("folder", {"storage": "folder"}, keys, fetch)


def _s3(endpoint: str) -> Storage:
    bucket = s3_bucket(endpoint)
    s3 = s3_client(endpoint)

    def keys() -> set[str]:
        listed = s3.list_objects_v2(Bucket=bucket)
        return {item["Key"] for item in listed.get("Contents", [])}

    def fetch(client: TestClient, url: str) -> httpx.Response:
        assert url.startswith(f"{endpoint}/{bucket}/avatars/"), url
        return httpx.get(url)  # anonymous, as a browser reads it

    settings = {
        "storage": "auto",  # a bucket named: s3
        "s3_bucket": bucket,
        "s3_endpoint_url": endpoint,
        "s3_region": REGION,
        "s3_access_key_id": CREDENTIALS["aws_access_key_id"],
        "s3_secret_access_key": CREDENTIALS["aws_secret_access_key"],
    }
    return Storage("s3", settings, keys, fetch)


@pytest.fixture(params=["folder", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "folder":
        return _folder(tmp_path)
    return _s3(request.getfixturevalue("s3_endpoint"))


@pytest.fixture
def client(api_settings: Settings, storage: Storage, tmp_path: Path) -> Iterator[TestClient]:
    settings = api_settings.model_copy(
        update={"data_dir": tmp_path, "avatar_max_bytes": LIMIT, **storage.settings}
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


FOLDER_ONLY = pytest.mark.parametrize("storage", ["folder"], indirect=True)


# --- pictures --------------------------------------------------------------------------------


def picture(kind: str, size: tuple[int, int] = (600, 400), **save: Any) -> bytes:
    """A real image: red on the left half, blue on the right."""
    image = Image.new("RGB", size, "red")
    ImageDraw.Draw(image).rectangle((size[0] // 2, 0, size[0], size[1]), fill="blue")
    out = io.BytesIO()
    image.save(out, kind, **save)
    return out.getvalue()


def gps_tagged_jpeg() -> bytes:
    """A camera's JPEG: maker, position and orientation 6 (shown turned a quarter clockwise:
    the red left half on top)."""
    exif = Image.Exif()
    exif[0x010F] = "SpyCamMaker"  # Make
    exif[0x0112] = 6  # Orientation
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    data = picture("JPEG", exif=exif, comment=b"SpyCamComment")
    tags = Image.open(io.BytesIO(data)).getexif()
    assert tags.get_ifd(GPS_IFD)[2] == (48.0, 51.0, 29.0)  # the tags really are in the upload
    return data


def huge_png_header() -> bytes:
    """A tiny file whose header claims 20,000 x 20,000 pixels (a decompression bomb)."""
    data = bytearray(picture("PNG", (8, 8)))
    ihdr = 8 + 4  # after the signature and the chunk's length
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", 20_000, 20_000)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 4 + 13]))
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


# --- calls -----------------------------------------------------------------------------------


def auth(user: dict[str, str]) -> dict[str, str]:
    return {"Authorization": user["Authorization"]}


def upload(
    client: TestClient, user: dict[str, str], data: bytes, name: str = "me.jpg", kind: str = ""
) -> httpx.Response:
    files = {"file": (name, data, kind or "application/octet-stream")}
    return client.put("/api/v1/users/me/avatar/", files=files, headers=auth(user))


def uploaded(client: TestClient, user: dict[str, str], data: bytes) -> dict[str, Any]:
    response = upload(client, user, data)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["data"]
    return body


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def me(client: TestClient, user: dict[str, str]) -> dict[str, Any]:
    response = client.get("/api/v1/users/me", headers=auth(user))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["data"]
    return body


def eventually(read: Callable[[], Any], expected: Any) -> None:
    """Poll a read model until it shows `expected` (projections run a moment after a save)."""
    deadline = time.monotonic() + 10
    while (seen := read()) != expected:
        assert time.monotonic() < deadline, f"still {seen!r}, expected {expected!r}"
        time.sleep(0.05)


def stored_images(client: TestClient, storage: Storage, urls: dict[str, str]) -> dict[int, Any]:
    """Each rendition fetched back over HTTP and decoded, by size; checks its headers."""
    images = {}
    for size, url in urls.items():
        fetched = storage.fetch(client, url)
        assert fetched.status_code == 200, fetched.text
        assert fetched.headers["content-type"] == "image/webp"
        assert fetched.headers["cache-control"] == IMMUTABLE
        image = Image.open(io.BytesIO(fetched.content))
        image.load()
        assert (image.format, image.size) == ("WEBP", (int(size), int(size)))
        images[int(size)] = (image, fetched.content)
    return images


# --- tests -----------------------------------------------------------------------------------


def test_each_format_is_stored_resized_and_replaces_the_last(
    client: TestClient, signup: Signup, storage: Storage
) -> None:
    user = signup()
    stems = []
    for kind in ("JPEG", "PNG", "WEBP"):
        body = uploaded(client, user, picture(kind))
        urls = body["avatar_urls"]
        assert set(urls) == SIZES
        assert body["avatar_url"] == body["avatar"] == urls["512"]
        assert me(client, user)["avatar_url"] == urls["512"]
        stored_images(client, storage, urls)
        # Only the current avatar's files remain: the replaced one's are deleted.
        names = {url.rsplit("/", 1)[1] for url in urls.values()}
        assert {key.rsplit("/", 1)[1] for key in storage.keys()} == names  # noqa: SIM118
        stems.append(urls["64"].rsplit("-", 1)[0])
    assert len(set(stems)) == 3  # a name per content


def test_a_gps_tagged_photo_is_stored_without_any_metadata_and_upright(
    client: TestClient, signup: Signup, storage: Storage
) -> None:
    user = signup()
    body = uploaded(client, user, gps_tagged_jpeg())
    for size, (image, raw) in stored_images(client, storage, body["avatar_urls"]).items():
        assert not image.getexif()
        assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)
        assert b"Exif" not in raw and b"SpyCam" not in raw and b"XMP" not in raw
        # The orientation was applied before the tags went: red (the left half) on top.
        pixels = image.convert("RGB")
        red, blue = (
            pixels.getpixel((size // 2, size // 8)),
            pixels.getpixel((size // 2, size * 7 // 8)),
        )
        assert red[0] > 200 > red[2] and blue[2] > 200 > blue[0], (red, blue)


def test_delete_removes_the_files_and_clears_the_url(
    client: TestClient, signup: Signup, storage: Storage
) -> None:
    user = signup()
    urls = uploaded(client, user, picture("PNG"))["avatar_urls"]
    assert len(storage.keys()) == 3
    removed = client.delete("/api/v1/users/me/avatar/", headers=auth(user))
    assert removed.status_code == 200, removed.text
    assert removed.json()["data"]["avatar_url"] == ""
    assert me(client, user)["avatar_url"] == ""
    assert storage.keys() == set()
    assert storage.fetch(client, urls["256"]).status_code in (403, 404)
    again = client.delete("/api/v1/users/me/avatar/", headers=auth(user))
    assert again.status_code == 200, again.text


def test_what_is_not_an_accepted_image_is_refused_and_nothing_is_stored(
    client: TestClient, signup: Signup, storage: Storage
) -> None:
    user = signup()
    text = b"Just some text, named like a photo.\n" * 20
    refused(upload(client, user, text, "me.jpg", "image/jpeg"), 422, "unsupported_image")
    gif = picture("GIF")  # a real image, not of an accepted format
    refused(upload(client, user, gif, "me.png", "image/png"), 422, "unsupported_image")
    truncated = picture("PNG")[:-200]
    refused(upload(client, user, truncated, "me.png", "image/png"), 422, "unsupported_image")
    refused(upload(client, user, huge_png_header()), 422, "unsupported_image")
    assert me(client, user)["avatar_url"] == ""
    assert storage.keys() == set()


@FOLDER_ONLY
def test_a_file_over_the_limit_is_refused_with_413(
    client: TestClient, signup: Signup, storage: Storage
) -> None:
    user = signup()
    # Just over: the route counts the file's bytes as it reads them.
    refused(upload(client, user, os.urandom(LIMIT + 1)), 413, "payload_too_large")
    # Far over: refused from its Content-Length before anything is parsed.
    refused(upload(client, user, os.urandom(LIMIT * 2)), 413, "payload_too_large")
    assert storage.keys() == set()
    # At the limit, an image is taken (the bound is the file's, not the request's).
    padded = picture("PNG")
    padded += b"\0" * (LIMIT - len(padded))  # trailing bytes after IEND are ignored
    assert len(padded) == LIMIT
    assert uploaded(client, user, padded)["avatar_url"]


@FOLDER_ONLY
def test_the_avatar_url_is_shown_wherever_the_user_is(
    client: TestClient, signup: Signup, storage: Storage
) -> None:
    ada, bob = signup(), signup()
    url = uploaded(client, ada, picture("JPEG"))["avatar_url"]

    def profile() -> Any:
        return client.get(f"/api/v1/users/{ada['X-User']}", headers=auth(bob)).json()["data"]

    eventually(lambda: profile()["avatar_url"], url)
    assert profile()["avatar"] == url
    # The profile as read, sent back with a new bio, keeps the stored avatar.
    own = me(client, ada)
    fields = {k: own[k] for k in ("first_name", "last_name", "avatar_url")}
    kept = client.put("/api/v1/users/me", json={**fields, "bio": "Hi"}, headers=auth(ada))
    assert kept.status_code == 200, kept.text
    assert kept.json()["data"]["avatar_url"] == url

    created = client.post(
        "/api/v1/trips/",
        json={"title": "Lisbon", "start_date": "2027-05-01", "end_date": "2027-05-09"},
        headers=auth(ada),
    )
    assert created.status_code == 201, created.text
    trip_id = created.json()["data"]["id"]
    added = client.post(
        f"/api/v1/trips/{trip_id}/members/",
        json={"user_id": bob["X-User"], "role": "viewer"},
        headers=auth(ada),
    )
    assert added.status_code == 201, added.text

    def avatars() -> Any:
        members = client.get(f"/api/v1/trips/{trip_id}/members/", headers=auth(bob))
        return {m["user_id"]: m["avatar"] for m in members.json()["data"]}

    eventually(avatars, {ada["X-User"]: url, bob["X-User"]: ""})

    posted = client.post(
        f"/api/v1/chat/rooms/{trip_id}/messages/", json={"content": "Hi"}, headers=auth(ada)
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["data"]["sender"]["avatar"] == url


@FOLDER_ONLY
def test_the_media_route_serves_only_the_media_folder_and_answers_revalidation(
    client: TestClient, signup: Signup, storage: Storage, tmp_path: Path
) -> None:
    user = signup()
    url = uploaded(client, user, picture("PNG"))["avatar_url"]
    first = client.get(url)
    assert first.status_code == 200 and first.headers["etag"]
    assert first.headers["x-content-type-options"] == "nosniff"
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["cache-control"] == IMMUTABLE
    (tmp_path / "secret.txt").write_text("not media")
    for path in ("/media/../secret.txt", "/media/%2e%2e/secret.txt", "/media/..%2fsecret.txt"):
        assert client.get(path).status_code == 404, path
    assert client.get("/media/avatars/").status_code == 404
