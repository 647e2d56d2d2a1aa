"""The caller's avatar: uploaded as a file, re-encoded to fixed sizes, stored behind a port."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import Acting, AppContainer
from api.envelope import ok
from api.errors import ApiError
from api.identity_schemas import AccountBody, AvatarAccountBody
from api.openapi import AUTHENTICATED, errors, success
from api.routers.users import _me
from write_side.avatars.service import StoredAvatar

CHUNK = 64 * 1024
# Room for the multipart envelope around the file (boundaries, part headers): the body limit
# of the avatar path is this much larger than the file limit, which the route checks itself.
MULTIPART_OVERHEAD = 64 * 1024

router = APIRouter(
    prefix="/users/me/avatar",
    tags=["users"],
    responses=errors(
        {
            **AUTHENTICATED,
            409: "concurrency_conflict",
            413: "payload_too_large (ITINERA_AVATAR_MAX_BYTES)",
            422: "unsupported_image (not a JPEG, PNG or WebP by its content, corrupt, or more "
            "than 40 megapixels), validation_failed (no `file` part)",
            503: "dependency_unavailable (object storage)",
        }
    ),
)

FILE = File(description="A JPEG, PNG or WebP image (its content decides, not its name)")


async def _read_at_most(file: UploadFile, limit: int) -> bytes:
    """The file's bytes, refused with 413 as soon as they pass `limit`."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await file.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "payload_too_large", f"The avatar is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _with_urls(stored: StoredAvatar) -> dict[str, object]:
    return {**_me(stored.user), "avatar_urls": {str(s): u for s, u in stored.urls.items()}}


@router.put("", responses=success(AvatarAccountBody))
async def upload_avatar(
    request: Request,
    file: Annotated[UploadFile, FILE],
    acting: Acting,
    container: AppContainer,
) -> JSONResponse:
    """Set the caller's avatar from an image file (multipart field `file`); answers the
    profile, `avatar_url` being the largest size, and `avatar_urls` every size."""
    upload = await _read_at_most(file, container.settings.avatar_max_bytes)
    # Decoding, re-encoding and storing block (Pillow, boto3, the event store): in a thread.
    stored = await run_in_threadpool(container.avatars.upload, upload, acting)
    return ok(request, _with_urls(stored))


@router.delete("", responses=success(AccountBody))
async def delete_avatar(request: Request, acting: Acting, container: AppContainer) -> JSONResponse:
    """Remove the caller's avatar: its stored files are deleted and `avatar_url` is empty."""
    user = await run_in_threadpool(container.avatars.remove, acting)
    return ok(request, _me(user))
