"""Parameter (being written)."""
