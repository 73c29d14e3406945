"""The modules whose import registers scheduled jobs: one line per domain."""

import resolvers.evaluation  # noqa: F401  (estate evaluation: closing ended rounds)
