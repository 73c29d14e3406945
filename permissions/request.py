"""Who sees service requests, their history, joins and the firms' webhooks.

Staff see the requests of their subtree; a person their own requests and the
shared ones (the library of small needs); a property company the requests
dispatched to it in the estates it manages today, and nothing else: an API
token sees nothing shared beyond its own. The private fields of a request (who
raised it, where exactly, photos, history, rating) are for its parties only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import reduce
from operator import or_
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models import (
    RequestCategory,
    RequestJoin,
    RequestStep,
    ServiceRequest,
    Webhook,
    WebhookDelivery,
)
from models.enums import Role
from permissions.caller import STAFF_ROLES, Caller
from permissions.rules import Decision, Rule

__all__ = [
    "REQUEST_SCOPES",
    "HandlesRequest",
    "firm_ids",
    "is_handling_firm",
    "is_party",
    "parties_scope",
]


def _paths(paths: Iterable[str], key: str = "unit_path") -> Q | None:
    terms = [Q(**{f"{key}__startswith": path}) for path in paths]
    return reduce(or_, terms) if terms else None


def _get(row: Any, key: str) -> Any:
    return row.get(key) if isinstance(row, dict) else getattr(row, key, None)


def firm_ids(caller: Caller) -> frozenset[int]:
    return caller.organization_ids(Role.PROPERTY_COMPANY)


def is_handling_firm(caller: Caller, row: Any) -> bool:
    """The caller's company handles the request, in an estate it manages today."""
    return (
        _get(row, "handler_organization_id") in firm_ids(caller)
        and _get(row, "estate_id") in caller.estate_ids
    )


def is_party(caller: Caller, row: Any) -> bool:
    """Whether the caller may read the request's private fields."""
    return (
        caller.is_admin
        or caller.covers(_get(row, "unit_path"))
        or (
            caller.person_id is not None
            and _get(row, "raised_by_id") == caller.person_id
        )
        or is_handling_firm(caller, row)
    )


class HandlesRequest(Rule):
    """The property company the request is dispatched to, in an estate it manages."""

    def decide(self, caller: Caller) -> Decision:
        return Decision.ROW if firm_ids(caller) and caller.estate_ids else Decision.DENY

    def allows(self, caller: Caller, row: Any) -> bool:
        return is_handling_firm(caller, row)

    def describe(self) -> str:
        return "the property company handling it, for an estate it manages"


def _party_terms(caller: Caller) -> list[Q]:
    terms: list[Q] = []
    staff = _paths(caller.paths(STAFF_ROLES))
    if staff is not None:
        terms.append(staff)
    if caller.person_id is not None:
        terms.append(Q(raised_by_id=caller.person_id))
    firms = firm_ids(caller)
    if firms and caller.estate_ids:
        terms.append(
            Q(
                handler_organization_id__in=sorted(firms),
                estate_id__in=sorted(caller.estate_ids),
            )
        )
    return terms


def parties_scope(caller: Caller) -> QuerySet[ServiceRequest]:
    """Requests where the caller is a party: raiser, staff over it, its handler."""
    if caller.is_admin:
        return ServiceRequest.all()
    terms = _party_terms(caller)
    if not terms:
        return ServiceRequest.filter(id__in=[])
    return ServiceRequest.filter(reduce(or_, terms))


def _requests(caller: Caller) -> QuerySet[ServiceRequest]:
    if caller.is_admin:
        return ServiceRequest.all()
    terms = _party_terms(caller)
    if caller.token_id is None:
        terms.append(Q(is_public=True))
    if not terms:
        return ServiceRequest.filter(id__in=[])
    return ServiceRequest.filter(reduce(or_, terms))


def _steps(caller: Caller) -> QuerySet[RequestStep]:
    """The history of the requests where the caller is a party (joined, not a
    subquery: the planner of either database keeps it on the indexes)."""
    if caller.is_admin:
        return RequestStep.all()
    terms: list[Q] = []
    staff = _paths(caller.paths(STAFF_ROLES))
    if staff is not None:
        terms.append(staff)
    if caller.person_id is not None:
        terms.append(Q(request__raised_by_id=caller.person_id))
    firms = firm_ids(caller)
    if firms and caller.estate_ids:
        terms.append(
            Q(
                request__handler_organization_id__in=sorted(firms),
                request__estate_id__in=sorted(caller.estate_ids),
            )
        )
    if not terms:
        return RequestStep.filter(id__in=[])
    return RequestStep.filter(reduce(or_, terms))


def _joins(caller: Caller) -> QuerySet[RequestJoin]:
    if caller.is_admin:
        return RequestJoin.all()
    terms: list[Q] = []
    staff = _paths(caller.paths(STAFF_ROLES))
    if staff is not None:
        terms.append(staff)
    if caller.person_id is not None:
        terms.append(Q(person_id=caller.person_id))
    if not terms:
        return RequestJoin.filter(id__in=[])
    return RequestJoin.filter(reduce(or_, terms))


def _categories(caller: Caller) -> QuerySet[RequestCategory]:
    return RequestCategory.all()


def _webhooks(caller: Caller) -> QuerySet[Webhook]:
    """A firm sees its own webhooks; officials those of firms under them."""
    if caller.is_admin:
        return Webhook.all()
    terms = _paths(caller.paths(frozenset({Role.OFFICIAL})))
    firms = firm_ids(caller)
    if firms:
        own = Q(organization_id__in=sorted(firms))
        terms = own if terms is None else terms | own
    return Webhook.filter(terms) if terms is not None else Webhook.filter(id__in=[])


def _deliveries(caller: Caller) -> QuerySet[WebhookDelivery]:
    if caller.is_admin:
        return WebhookDelivery.all()
    return WebhookDelivery.filter(
        webhook_id__in=Subquery(_webhooks(caller).values("id"))
    )


REQUEST_SCOPES: dict[type[Any], Callable[[Caller], QuerySet[Any]]] = {
    RequestCategory: _categories,
    ServiceRequest: _requests,
    RequestStep: _steps,
    RequestJoin: _joins,
    Webhook: _webhooks,
    WebhookDelivery: _deliveries,
}
