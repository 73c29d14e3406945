"""Service requests (你说我做): raise, dispatch, handle, verify, evaluate.

A request moves PUBLISHED → DISPATCHED → HANDLING → VERIFYING → EVALUATED.
Dispatch is automatic on creation, by the category's handler kind and the place:
the property company managing the estate on that day, the community, or a
department (``routing``). The handler may return it for re-dispatch (back to
PUBLISHED, where the community's staff dispatch it by hand); the raiser or staff
may reopen a resolved one. Every step is a ``RequestStep`` row (who, when, from,
to); a step that the table of transitions (``rules.TRANSITIONS``) does not allow
is refused with ``ILLEGAL_TRANSITION`` and changes nothing (``steps``). Shared
requests form the library of small needs, which others join. ``live`` streams
the changes, ``categories`` keeps the configuration, ``jobs`` the overdue
escalation and the webhook retries.
"""

from resolvers.request.categories import CategoryInput, save_category
from resolvers.request.figures import request_figures_of
from resolvers.request.live import may_see_event, request_changes
from resolvers.request.reading import category_rows, demand_under, requests_query
from resolvers.request.routing import Route, dispatch_route
from resolvers.request.rules import (
    DAILY_LIMIT,
    OPEN_STAGES,
    REDISPATCH_HOURS,
    TOPIC,
    TRANSITIONS,
    china_day,
)
from resolvers.request.steps import (
    Act,
    NewRequest,
    act,
    create_request,
    join_request,
    record_step,
)

__all__ = [
    "DAILY_LIMIT",
    "OPEN_STAGES",
    "REDISPATCH_HOURS",
    "TOPIC",
    "TRANSITIONS",
    "Act",
    "CategoryInput",
    "NewRequest",
    "Route",
    "act",
    "category_rows",
    "china_day",
    "create_request",
    "demand_under",
    "dispatch_route",
    "join_request",
    "may_see_event",
    "record_step",
    "request_changes",
    "request_figures_of",
    "requests_query",
    "save_category",
]
