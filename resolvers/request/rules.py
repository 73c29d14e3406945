"""The stages of a request, the steps between them, and who may take each."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from models import ServiceRequest
from models.enums import RequestAction, RequestStage
from permissions.caller import Caller
from permissions.request import is_handling_firm
from resolvers.base import UserError

CHINA = ZoneInfo("Asia/Shanghai")
TOPIC = "request"
MAX_TEXT = 4000
MAX_NOTE = 1000
MAX_PHOTOS = 9
# Hours the community's staff have to dispatch a returned request by hand.
REDISPATCH_HOURS = 24
# Requests one person may raise in 24 hours (more is a script, not a resident).
DAILY_LIMIT = 20
OPEN_STAGES = (RequestStage.PUBLISHED, RequestStage.DISPATCHED, RequestStage.HANDLING)
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})

S = RequestStage
# action -> (the stages it may start from, the stage it leads to)
TRANSITIONS: dict[RequestAction, tuple[frozenset[RequestStage], RequestStage]] = {
    RequestAction.DISPATCH: (frozenset({S.PUBLISHED}), S.DISPATCHED),
    RequestAction.ACCEPT: (frozenset({S.DISPATCHED}), S.HANDLING),
    RequestAction.UPDATE: (frozenset({S.DISPATCHED, S.HANDLING}), S.HANDLING),
    RequestAction.RESOLVE: (frozenset({S.HANDLING}), S.VERIFYING),
    RequestAction.CONFIRM: (frozenset({S.VERIFYING}), S.EVALUATED),
    RequestAction.EVALUATE: (frozenset({S.VERIFYING, S.EVALUATED}), S.EVALUATED),
    RequestAction.REOPEN: (frozenset({S.VERIFYING, S.EVALUATED}), S.HANDLING),
    RequestAction.RETURN: (frozenset({S.DISPATCHED, S.HANDLING}), S.PUBLISHED),
}


def china_day(moment: datetime) -> date:
    """The calendar day in China at ``moment`` (managements run by those days)."""
    return moment.astimezone(CHINA).date()


def check_text(text: str, field: str, limit: int, required: bool) -> list[UserError]:
    if required and not text:
        return [UserError(field, "Say what it is about.", "TEXT_REQUIRED")]
    if len(text) > limit:
        return [UserError(field, f"At most {limit} characters.", "TEXT_TOO_LONG")]
    return []


# -- who sees and who may act ------------------------------------------------------


def may_handle(caller: Caller, request: ServiceRequest) -> bool:
    return (
        caller.is_admin
        or caller.covers(request.unit_path)
        or is_handling_firm(caller, request)
    )


def is_raiser(caller: Caller, request: ServiceRequest) -> bool:
    return caller.person_id is not None and caller.person_id == request.raised_by_id


def may_act(caller: Caller, action: RequestAction, request: ServiceRequest) -> bool:
    if action in (RequestAction.ACCEPT, RequestAction.UPDATE, RequestAction.RESOLVE):
        return may_handle(caller, request)
    if action == RequestAction.RETURN:
        return may_handle(caller, request)
    if action == RequestAction.DISPATCH:
        return caller.is_admin or caller.covers(request.unit_path)
    if action in (RequestAction.CONFIRM, RequestAction.REOPEN):
        return (
            caller.is_admin
            or caller.covers(request.unit_path)
            or is_raiser(caller, request)
        )
    if action == RequestAction.EVALUATE:
        return is_raiser(caller, request)
    return False
