"""The avatar's domain errors (the API maps each to one status and code)."""

from __future__ import annotations

from write_side.errors import InvariantError


class UnsupportedImageError(InvariantError):
    """The upload is not an image of an accepted format, or not one that may be decoded."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Not a usable avatar: {reason}. Send a JPEG, PNG or WebP image")
        self.reason = reason
