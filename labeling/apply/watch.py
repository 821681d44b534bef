"""Which LF is running on which row (placeholder)."""

STALL_SECONDS = 10.0
