"""Outgoing mail: the message value and the ports a process manager sends it through."""
