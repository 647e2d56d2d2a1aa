"""Signing keys kept as PEM files in a folder: `<kid>.pem` each, `signing` names the one that
signs. `itinera keys rotate` adds a key and makes it the signer; older keys keep verifying
until `itinera keys retire <kid>` removes them. API processes notice changes by themselves."""

from __future__ import annotations

import os
import secrets
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from write_side.identity.tokens import KeyRing

SIGNING_FILE = "signing"
RELOAD_EVERY_SECONDS = 5.0


class KeyFolderError(RuntimeError):
    pass


def rotate_key(folder: Path) -> str:
    """Add a new RSA key and make it the signing key; returns its kid."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    kid = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = folder / f"{kid}.pem"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    _write_atomically(folder / SIGNING_FILE, kid)
    return kid


def retire_key(folder: Path, kid: str) -> None:
    if (folder / SIGNING_FILE).read_text().strip() == kid:
        raise KeyFolderError(f"{kid} signs tokens; rotate before retiring it")
    (folder / f"{kid}.pem").unlink()


def ensure_keys(folder: Path) -> None:
    """Embedded mode: generate the first key pair on first start."""
    if not (folder / SIGNING_FILE).exists():
        rotate_key(folder)


def load_key_ring(folder: Path) -> KeyRing:
    try:
        signing_kid = (folder / SIGNING_FILE).read_text().strip()
    except FileNotFoundError:
        raise KeyFolderError(
            f"No signing key in {folder}: run `itinera keys rotate` (ITINERA_KEYS_DIR)"
        ) from None
    private_keys = {}
    for path in sorted(folder.glob("*.pem")):
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyFolderError(f"{path} is not an RSA private key")
        private_keys[path.stem] = key
    if signing_kid not in private_keys:
        raise KeyFolderError(f"The signing key {signing_kid} is missing from {folder}")
    return KeyRing(
        signing_kid=signing_kid,
        signing_key=private_keys[signing_kid],
        public_keys={kid: key.public_key() for kid, key in private_keys.items()},
    )


class KeyFolder:
    """The current key ring of a folder, reloaded when the folder changes."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._lock = threading.Lock()
        self._ring = load_key_ring(folder)
        self._stamp = self._folder_stamp()
        self._checked = time.monotonic()

    def __call__(self) -> KeyRing:
        if time.monotonic() - self._checked >= RELOAD_EVERY_SECONDS:
            with self._lock:
                self._checked = time.monotonic()
                stamp = self._folder_stamp()
                if stamp != self._stamp:
                    self._ring, self._stamp = load_key_ring(self._folder), stamp
        return self._ring

    def _folder_stamp(self) -> tuple[tuple[str, float], ...]:
        return tuple(sorted((p.name, p.stat().st_mtime) for p in self._folder.iterdir()))


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.replace(path)
