"""Mails written to a folder, one `.eml` file per message (any mail program opens them):
what `itinera serve` does when no SMTP server is set, so the person running it can read
what was sent. A file is named after the event it comes from, so writing the same mail
again replaces it; it is written whole, then renamed into place."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from infra.mail.compose import rfc5322
from write_side.mail.ports import MailMessage, MailNotSentError

log = logging.getLogger(__name__)


class MailboxFolder:
    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def path_of(self, message: MailMessage) -> Path:
        return self._folder / f"{message.kind}-{message.key}.eml"

    async def send(self, message: MailMessage) -> None:
        try:
            path = await asyncio.to_thread(self._write, message)
        except OSError as error:
            raise MailNotSentError(f"{type(error).__name__}: {error}") from error
        log.info("mail written to %s", path)

    def _write(self, message: MailMessage) -> Path:
        self._folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.path_of(message)
        partial = path.with_suffix(".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(rfc5322(message).as_bytes())
        partial.replace(path)
        return path.resolve()
