"""Signing keys kept as PEM files in a folder: `<kid>.pem` each, and `signing`, the schedule
of signers (a line `<kid> <active from, epoch seconds>` per rotation; the latest one whose time
has come signs). `itinera keys rotate` adds a key that every instance publishes at once (they
reload the folder within RELOAD_EVERY_SECONDS) and that signs only from a later instant, so no
instance ever meets a token signed with a key it has not loaded. Older keys keep verifying
until `itinera keys retire <kid>` removes them."""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from write_side.identity.tokens import KeyRing

log = logging.getLogger(__name__)

SIGNING_FILE = "signing"
RELOAD_EVERY_SECONDS = 5.0
SECRET_BYTES = 32


class KeyFolderError(RuntimeError):
    pass


def rotate_key(folder: Path, activate_after: float = 0.0) -> str:
    """Add a new RSA key that signs from `activate_after` seconds on (at once when the folder
    has no signer yet); returns its kid."""
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
    schedule = read_schedule(folder)
    active_from = time.time() + activate_after if schedule else 0.0
    _write_schedule(folder, [*schedule, (kid, active_from)])
    return kid


def activation_of(folder: Path, kid: str) -> float:
    """When `kid` starts signing (epoch seconds; 0 for a first key)."""
    return dict(read_schedule(folder))[kid]


def retire_key(folder: Path, kid: str, now: float | None = None) -> None:
    schedule, at_now = read_schedule(folder), time.time() if now is None else now
    signer, _ = _signer(schedule, at_now)
    if kid == signer:
        raise KeyFolderError(f"{kid} signs tokens; rotate before retiring it")
    if any(k == kid and at > at_now for k, at in schedule):
        raise KeyFolderError(f"{kid} is scheduled to sign; it cannot be retired yet")
    (folder / f"{kid}.pem").unlink()
    _write_schedule(folder, [(k, at) for k, at in schedule if k != kid])


def read_schedule(folder: Path) -> list[tuple[str, float]]:
    """The signers in rotation order; a bare kid (the older format) signs since always."""
    try:
        lines = (folder / SIGNING_FILE).read_text().splitlines()
    except FileNotFoundError:
        return []
    schedule = []
    for line in filter(None, (line.strip() for line in lines)):
        kid, _, active_from = line.partition(" ")
        schedule.append((kid, float(active_from or 0.0)))
    return schedule


def _signer(schedule: list[tuple[str, float]], now: float) -> tuple[str | None, float | None]:
    """The kid that signs at `now`, and when the next scheduled one takes over."""
    due = [(at, index, kid) for index, (kid, at) in enumerate(schedule) if at <= now]
    pending = [at for _, at in schedule if at > now]
    return (max(due)[2] if due else None), (min(pending) if pending else None)


def ensure_keys(folder: Path) -> None:
    """Embedded mode: generate the first key pair on first start, and say where: the folder
    is a secret to keep (and back up) with the data."""
    if not (folder / SIGNING_FILE).exists():
        kid = rotate_key(folder)
        log.info("created the signing key %s in %s", kid, folder.resolve())


def load_key_ring(folder: Path, now: float | None = None) -> KeyRing:
    return _load(folder, time.time() if now is None else now)[0]


def _load(folder: Path, now: float) -> tuple[KeyRing, float | None]:
    """The ring signing at `now`, and when the next scheduled signer takes over."""
    signing_kid, next_change = _signer(read_schedule(folder), now)
    if signing_kid is None:
        raise KeyFolderError(
            f"No signing key in {folder}: run `itinera keys rotate` (ITINERA_KEYS_DIR)"
        )
    private_keys = {}
    for path in sorted(folder.glob("*.pem")):
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyFolderError(f"{path} is not an RSA private key")
        private_keys[path.stem] = key
    if signing_kid not in private_keys:
        raise KeyFolderError(f"The signing key {signing_kid} is missing from {folder}")
    ring = KeyRing(
        signing_kid=signing_kid,
        signing_key=private_keys[signing_kid],
        public_keys={kid: key.public_key() for kid, key in private_keys.items()},
    )
    return ring, next_change


class KeyFolder:
    """The current key ring of a folder: reloaded when the folder changes (checked every
    RELOAD_EVERY_SECONDS) and when a scheduled signer's time comes."""

    def __init__(self, folder: Path, clock: Callable[[], float] = time.time) -> None:
        self._folder = folder
        self._clock = clock
        self._lock = threading.Lock()
        self._ring, self._next_change = _load(folder, clock())
        self._stamp = self._folder_stamp()
        self._checked = time.monotonic()

    def __call__(self) -> KeyRing:
        due = self._next_change is not None and self._clock() >= self._next_change
        if due or time.monotonic() - self._checked >= RELOAD_EVERY_SECONDS:
            with self._lock:
                self._checked = time.monotonic()
                stamp = self._folder_stamp()
                if due or stamp != self._stamp:
                    self._ring, self._next_change = _load(self._folder, self._clock())
                    self._stamp = stamp
        return self._ring

    def _folder_stamp(self) -> tuple[tuple[str, float], ...]:
        return tuple(sorted((p.name, p.stat().st_mtime) for p in self._folder.iterdir()))


def _write_schedule(folder: Path, schedule: list[tuple[str, float]]) -> None:
    _write_atomically(folder / SIGNING_FILE, "".join(f"{kid} {at}\n" for kid, at in schedule))


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.replace(path)


def shared_secret(folder: Path, name: str) -> bytes:
    """A random secret shared by every instance that reads this folder (as the signing keys
    are), made by the first one to need it: created exclusively, so two instances starting
    together agree on one (the other waits the instant it takes to be written)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(SECRET_BYTES))
    for _ in range(100):
        text = path.read_text().strip()
        if len(text) == 2 * SECRET_BYTES:
            return bytes.fromhex(text)
        time.sleep(0.01)
    raise KeyFolderError(f"{path} does not hold a {SECRET_BYTES}-byte hex secret")
