"""The folder storage's files, served by the API (embedded mode).

Public by design: avatars are shown to other users (chat, member lists) and to clients that
send no token (an <img> tag), so no authentication is asked. Names are content-addressed (a
hash of the upload in the key), so a file never changes under its URL and may be cached for a
year; StaticFiles answers `If-None-Match` with 304 and keeps every path inside the folder.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from infra.wiring import Settings, media_folder

IMMUTABLE = "public, max-age=31536000, immutable"


class MediaFiles(StaticFiles):
    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = IMMUTABLE
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def mount_media(app: FastAPI, settings: Settings) -> None:
    """Serve `/media/...` from the data directory when avatars are stored there."""
    folder = media_folder(settings)
    if folder is not None:
        app.mount("/media", MediaFiles(directory=folder, check_dir=False), name="media")
