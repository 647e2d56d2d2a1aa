"""Adapters of read_side.live: in-process and Redis pub/sub."""
