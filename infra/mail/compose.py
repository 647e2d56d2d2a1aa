"""A `MailMessage` as an RFC 5322 message, the same for every adapter."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate

from write_side.mail.ports import MailMessage


def rfc5322(message: MailMessage) -> EmailMessage:
    composed = EmailMessage()
    composed["From"] = message.sender
    composed["To"] = message.recipient
    composed["Subject"] = message.subject
    composed["Date"] = formatdate(usegmt=True)
    composed["Message-ID"] = message.message_id
    composed["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    composed.set_content(message.text)
    return composed
