-- Public profiles, for profile pages and for finding people to invite.
CREATE TABLE user_directory (
    user_id    uuid PRIMARY KEY,
    version    integer NOT NULL,
    username   text NOT NULL,
    first_name text NOT NULL,
    last_name  text NOT NULL,
    bio        text NOT NULL,
    avatar_url text NOT NULL,
    is_active  boolean NOT NULL
);
-- Prefix search on lower-cased names (text_pattern_ops serves LIKE 'abc%').
CREATE INDEX user_directory_username ON user_directory (lower(username) text_pattern_ops);
CREATE INDEX user_directory_first_name ON user_directory (lower(first_name) text_pattern_ops);
CREATE INDEX user_directory_last_name ON user_directory (lower(last_name) text_pattern_ops);
