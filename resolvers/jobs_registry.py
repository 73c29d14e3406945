"""The modules whose import registers scheduled jobs: one line per domain."""

import resolvers.task.jobs  # noqa: F401
