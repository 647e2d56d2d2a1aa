"""Mails handed to an SMTP server with aiosmtplib: TLS from the start, STARTTLS, or plain,
with a login when credentials are set. Every failure to hand a message over (unreachable,
refused, timed out) is a MailNotSentError for the process manager to retry."""

from __future__ import annotations

import aiosmtplib

from infra.mail.compose import rfc5322
from infra.settings import Settings
from write_side.mail.ports import MailMessage, MailNotSentError


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        if settings.smtp_host is None:
            raise ValueError("SmtpMailer needs ITINERA_SMTP_HOST")
        self._host = settings.smtp_host
        self._port = settings.smtp_port
        self._tls = settings.smtp_tls
        self._username = settings.smtp_username
        self._password = settings.smtp_password
        self._timeout = settings.smtp_timeout_seconds

    async def send(self, message: MailMessage) -> None:
        try:
            await aiosmtplib.send(
                rfc5322(message),
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._tls == "tls",
                start_tls=self._tls == "starttls",
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPException as error:
            # Its text may name the recipient: only the kind and the server's code are told.
            code = getattr(error, "code", None)
            raise MailNotSentError(f"{type(error).__name__} {code or ''}".strip()) from error
        except (OSError, TimeoutError) as error:
            raise MailNotSentError(f"{type(error).__name__}: {error}") from error
