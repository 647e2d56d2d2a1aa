-- The events whose account mail was handed over (SMTP accepted it, or the mailbox file was
-- written): the account mail process manager sends nothing twice for one event.
CREATE TABLE sent_mails (
    event_id   uuid PRIMARY KEY,
    message_id text NOT NULL,
    sent_at    timestamptz NOT NULL DEFAULT now()
);
