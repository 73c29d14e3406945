"""The modules whose import registers scheduled jobs: one line per domain."""

import resolvers.evaluation
import resolvers.request.jobs  # noqa: F401  (service requests, webhooks)
