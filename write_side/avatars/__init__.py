"""Avatars: a user's uploaded picture, re-encoded to fixed sizes and stored behind a port."""
