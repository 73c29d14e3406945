"""The modules whose import registers scheduled jobs: one line per domain."""
