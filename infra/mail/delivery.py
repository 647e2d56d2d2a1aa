"""The account mail process manager as the projection engine drives it: the effect of the
`account_mail` projection (in the Faust worker in distributed mode, in the API process from
the event store's log in embedded mode), with the mailer the settings choose."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

from infra.mail.mailbox import MailboxFolder
from infra.mail.smtp import SmtpMailer
from infra.postgres.sent_mails import PostgresSentMails
from infra.settings import Settings
from projections.account_mail import MailItem
from write_side.event_store import EventStore
from write_side.identity.account_mail import AccountMail, MailDue, MailPolicy
from write_side.mail.ports import Mailer

log = logging.getLogger(__name__)


def mailer(settings: Settings) -> Mailer:
    """SMTP when a server is set; else the mailbox folder (said once, where it is)."""
    if settings.smtp_host is not None:
        return SmtpMailer(settings)
    folder = settings.mailbox_folder
    log.info("no SMTP server set (ITINERA_SMTP_HOST): account mails go to %s", folder.resolve())
    return MailboxFolder(folder)


def mail_policy(settings: Settings) -> MailPolicy:
    return MailPolicy(
        sender=settings.mail_from,
        base_url=settings.public_base_url,
        reset_ttl=timedelta(seconds=settings.password_reset_ttl_seconds),
        verification_ttl=timedelta(seconds=settings.email_verification_ttl_seconds),
        attempts=settings.mail_attempts,
        backoff_seconds=settings.mail_retry_backoff_seconds,
    )


class AccountMailEffect:
    """Delivers a batch's mails in order; the first that cannot be sent (after the
    process manager's retries) fails the batch, which the engine retries, then parks."""

    def __init__(self, process: AccountMail) -> None:
        self._process = process

    async def __call__(self, items: Sequence[MailItem]) -> None:
        for item in items:
            await self._process.deliver(MailDue(UUID(item["user_id"]), item["version"]))


def account_mail_effect(
    settings: Settings, events: EventStore, pool: AsyncConnectionPool
) -> AccountMailEffect:
    process = AccountMail(events, mailer(settings), PostgresSentMails(pool), mail_policy(settings))
    return AccountMailEffect(process)
