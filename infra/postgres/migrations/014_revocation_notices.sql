-- Each process keeps the tokens it found unrevoked and asks again after any revocation: a
-- NOTIFY on `itinera_revocations` when one of the tables that revoke access tokens gains or
-- changes a row, whoever writes it (a logout, a password change, the credentials
-- projection, a rebuild of it). Sent when the writing transaction commits.
CREATE OR REPLACE FUNCTION itinera_revocation_notice() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('itinera_revocations', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER revoked_tokens_notice AFTER INSERT OR UPDATE ON revoked_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION itinera_revocation_notice();
CREATE TRIGGER revoked_subjects_notice AFTER INSERT OR UPDATE ON revoked_subjects
    FOR EACH STATEMENT EXECUTE FUNCTION itinera_revocation_notice();

-- The credentials projection's tables, where they exist already (a table made from now on
-- gets its trigger when it is made).
DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['credential_cutoffs', 'credential_cutoffs__shadow'] LOOP
        IF to_regclass(name) IS NOT NULL THEN
            EXECUTE format(
                'CREATE OR REPLACE TRIGGER %I AFTER INSERT OR UPDATE ON %I'
                ' FOR EACH STATEMENT EXECUTE FUNCTION itinera_revocation_notice()',
                name || '_notice', name
            );
        END IF;
    END LOOP;
END
$$;
