"""The modules whose import registers scheduled jobs: one line per domain."""

import resolvers.care
import resolvers.evaluation
import resolvers.request.jobs
import resolvers.task.jobs
import resolvers.visit  # noqa: F401
