"""The account mail process manager: the mails that account events call for.

Reacting to a stored event (a registration, a password reset or an email change asked for),
it issues the token (a new event in the user's stream, caused by the one it reacts to; only
the token's digest is stored), writes the mail and hands it to the mailer, retrying with
backoff, then records the event as mailed. Run again for the same event, it finds that
record and does nothing: exactly once in effect.

The remaining window: a crash after the mail server accepted the message but before the
record is written sends the mail again on the next run, with a new token (the first one is
then replaced) and the same Message-ID, derived from the event, so the duplicate is
recognisable. A failure after every retry raises, for the driver to retry or park.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from write_side.context import SYSTEM, CommandContext, acting_as, event_id_of
from write_side.event_store import EventStore
from write_side.identity.account_tokens import digest_of, new_token
from write_side.identity.user import User
from write_side.mail.ports import Mailer, MailMessage, MailNotSentError, SentMails

log = logging.getLogger(__name__)

RESET = "password-reset"
VERIFY = "email-verification"
# Fragments never reach a server: a link followed to a web page leaves no token in logs.
RESET_PATH = "/reset-password#token="
VERIFY_PATH = "/verify-email#token="


@dataclass(frozen=True)
class MailPolicy:
    sender: str
    base_url: str
    reset_ttl: timedelta
    verification_ttl: timedelta
    attempts: int = 4
    backoff_seconds: float = 0.5  # before the second attempt, doubling each time


@dataclass(frozen=True)
class MailDue:
    """A user event that may call for a mail (the projection's decision, by event type)."""

    user_id: UUID
    version: int

    @property
    def key(self) -> UUID:
        return event_id_of(self.user_id, self.version)


def _now() -> datetime:
    return datetime.now(UTC)


class AccountMail:
    def __init__(
        self,
        events: EventStore,
        mailer: Mailer,
        sent: SentMails,
        policy: MailPolicy,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._events = events
        self._mailer = mailer
        self._sent = sent
        self._policy = policy
        self._clock = clock

    async def deliver(self, due: MailDue) -> bool:
        """Send the mail `due`'s event calls for, once; True if it was sent now."""
        if await self._sent.was_sent(due.key):
            return False
        message = await asyncio.to_thread(self._prepare, due)
        if message is None:
            return False
        await self._send(message)
        await self._sent.record(due.key, message.message_id)
        log.info("mail %s sent for event %s", message.kind, due.key)
        return True

    async def _send(self, message: MailMessage) -> None:
        wait = self._policy.backoff_seconds
        for attempt in range(1, self._policy.attempts + 1):
            try:
                await self._mailer.send(message)
                return
            except MailNotSentError as error:
                if attempt == self._policy.attempts:
                    raise
                log.warning(
                    "mail %s for event %s not sent (attempt %d): %s; retrying in %.1f s",
                    message.kind,
                    message.key,
                    attempt,
                    error,
                    wait,
                )
                await asyncio.sleep(wait)
                wait *= 2

    def _prepare(self, due: MailDue) -> MailMessage | None:
        """Issue the token the event calls for and write its mail; None when the event calls
        for none now (the account is gone or inactive, the address was verified or another
        was asked for since)."""
        stored = self._stored_event(due)
        user = self._events.find(due.user_id, User)
        if stored is None or user is None or not user.is_active:
            return None
        context = CommandContext(
            actor_id=SYSTEM, correlation_id=stored.correlation_id, causation_id=due.key
        )
        now = self._clock()
        token = new_token(user.id)
        if type(stored).__name__ == "PasswordResetRequested":
            with acting_as(context):
                user.issue_password_reset(digest_of(token), now + self._policy.reset_ttl)
            self._events.save(user)
            return self._message(due, RESET, user.email, user, token)
        address = self._address_asked(stored, user)
        if address is None:
            return None
        with acting_as(context):
            user.issue_email_verification(
                address, digest_of(token), now + self._policy.verification_ttl
            )
        self._events.save(user)
        return self._message(due, VERIFY, address, user, token)

    @staticmethod
    def _address_asked(stored: Any, user: User) -> str | None:
        """The address a verification event asks to prove, if it still awaits proof."""
        waiting, name = user.address_to_verify(), type(stored).__name__
        if name in ("Registered", "EmailChangeRequested"):
            return waiting if waiting == stored.email else None
        return waiting if name == "EmailVerificationRequested" else None

    def _stored_event(self, due: MailDue) -> Any:
        found = list(
            self._events.repository.event_store.get(
                due.user_id, gt=due.version - 1, lte=due.version
            )
        )
        return found[0] if found else None

    def _message(
        self, due: MailDue, kind: str, recipient: str, user: User, token: str
    ) -> MailMessage:
        base = self._policy.base_url.rstrip("/")
        name = user.first_name or user.username
        if kind == RESET:
            minutes = int(self._policy.reset_ttl.total_seconds() // 60)
            subject = "Reset your Itinera password"
            text = (
                f"Hello {name},\n\n"
                "Someone (we hope you) asked to reset the password of your Itinera account.\n"
                f"Choose a new one here within {minutes} minutes:\n\n"
                f"{base}{RESET_PATH}{token}\n\n"
                f"or send this token to POST /api/v1/auth/password-reset/confirm/:\n\n{token}\n\n"
                "If you did not ask for this, ignore this mail: your password stays as it is.\n"
            )
        else:
            hours = max(1, int(self._policy.verification_ttl.total_seconds() // 3600))
            subject = "Confirm your email address for Itinera"
            text = (
                f"Hello {name},\n\n"
                "Please confirm that this address belongs to your Itinera account"
                f" (within {hours} hours):\n\n"
                f"{base}{VERIFY_PATH}{token}\n\n"
                f"or send this token to POST /api/v1/auth/verify-email/:\n\n{token}\n\n"
                "If you did not ask for this, ignore this mail.\n"
            )
        return MailMessage(
            key=due.key,
            kind=kind,
            sender=self._policy.sender,
            recipient=recipient,
            subject=subject,
            text=text,
        )
