"""Notifications: each user's inbox, an aggregate of its own (see docs/design.md)."""
