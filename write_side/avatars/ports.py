"""The avatar's ports: what turns an upload into stored renditions, and where they are kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Rendition:
    """One re-encoded square version of an avatar, with no metadata of the upload."""

    size: int  # pixels, width and height
    data: bytes
    content_type: str
    extension: str  # of its file name, without the dot


class AvatarImages(Protocol):
    def render(self, upload: bytes, sizes: Sequence[int]) -> list[Rendition]:
        """The upload decoded (checked by content, never by name or declared type) and
        re-encoded at each size, centre-cropped. Raises `UnsupportedImageError` for anything
        that is not an accepted image, or that would take too much memory to decode."""
        ...


class MediaStorage(Protocol):
    """Public, immutable files by key (`avatars/<user>/<hash>-<size>.webp`). Synchronous:
    callers on an event loop run it in a thread."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key`, replacing what was there."""
        ...

    def delete(self, prefix: str) -> None:
        """Delete every file whose key starts with `prefix` (none: nothing happens)."""
        ...

    def url(self, key: str) -> str:
        """Where anyone may read the file (public by design: avatars are shown to others)."""
        ...
