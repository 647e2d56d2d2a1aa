"""Stored media (avatars): the image re-encoder and the storage adapters behind its port."""
