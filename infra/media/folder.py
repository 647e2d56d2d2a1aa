"""Stored media in a folder of the data directory (embedded mode), served by the API."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

# Keys are made by the application, but a key that could leave the folder is refused anyway.
_KEY = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*/?$")


def _checked(key: str) -> str:
    if not _KEY.fullmatch(key) or ".." in key.split("/"):
        raise ValueError(f"not a media key: {key!r}")
    return key


class FolderStorage:
    """Files under `root`, read at `base_url` (the API's `/media` unless a CDN fronts it)."""

    def __init__(self, root: Path, base_url: str) -> None:
        self._root = root
        self._base_url = base_url.rstrip("/")

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._root / _checked(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a reader never sees half a file.
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".", delete=False) as out:
            out.write(data)
        os.chmod(out.name, 0o644)
        os.replace(out.name, path)

    def delete(self, prefix: str) -> None:
        folder, _, start = _checked(prefix).rpartition("/")
        parent = self._root / folder
        if not parent.is_dir():
            return
        if not start:  # a whole folder
            shutil.rmtree(parent)
            return
        for path in parent.iterdir():
            if path.name.startswith(start) and path.is_file():
                path.unlink()

    def url(self, key: str) -> str:
        return f"{self._base_url}/{_checked(key)}"
