"""What a mail is, and the ports that send it and remember that it was sent.

A mail is sent by a process manager reacting to a stored event, never by the request that
recorded the event; its Message-ID is derived from that event's id, so the same event always
makes a message with the same id (a resend after a crash is recognisable as such).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True)
class MailMessage:
    """One plain-text message. `key` is the event it comes from; `kind` names its purpose."""

    key: UUID
    kind: str
    sender: str
    recipient: str
    subject: str
    text: str

    @property
    def message_id(self) -> str:
        domain = self.sender.rpartition("@")[2].strip(" >") or "itinera.invalid"
        return f"<{self.key}@{domain}>"


class MailNotSentError(Exception):
    """The mail could not be handed over (server unreachable, refused, timed out)."""


class Mailer(Protocol):
    async def send(self, message: MailMessage) -> None:
        """Hand the message over (SMTP: the server accepted it); raise MailNotSentError."""
        ...


class SentMails(Protocol):
    """Which events' mails were handed over: recorded right after the mailer accepted."""

    async def was_sent(self, key: UUID) -> bool: ...

    async def record(self, key: UUID, message_id: str) -> None: ...
