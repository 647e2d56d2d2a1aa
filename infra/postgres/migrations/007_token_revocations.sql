-- Revoked tokens and refresh-token families: durable, so a logout or a detected token theft
-- outlives any process and any Redis restart. Rows are useless once the tokens they name
-- have expired (`expires_at`), and are removed from then on.
CREATE TABLE revoked_tokens (
    jti        text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);

-- Every token of a subject issued before `issued_before` (epoch seconds) is revoked.
CREATE TABLE revoked_subjects (
    subject       text PRIMARY KEY,
    issued_before double precision NOT NULL,
    expires_at    timestamptz NOT NULL
);
CREATE INDEX revoked_subjects_by_expiry ON revoked_subjects (expires_at);

-- One row per refresh-token family: its valid member, and the member it replaced last with
-- the issue that replaced it (returned again to a retry within the grace window).
CREATE TABLE token_families (
    family           text PRIMARY KEY,
    current_jti      text,
    previous_jti     text,
    issue_access_jti text,
    issued_at        double precision,
    revoked          boolean NOT NULL DEFAULT false,
    expires_at       timestamptz NOT NULL
);
CREATE INDEX token_families_by_expiry ON token_families (expires_at);
