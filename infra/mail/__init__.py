"""Outgoing mail adapters: an SMTP client, and a mailbox folder when no server is set."""
