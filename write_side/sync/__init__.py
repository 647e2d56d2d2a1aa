"""Offline sync: queued client changes applied through the same commands as HTTP."""
