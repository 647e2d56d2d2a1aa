"""Trip chat: one room per trip, each message an aggregate of its own (see docs/design.md)."""
