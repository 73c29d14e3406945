"""The audit trail, for admins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from models import AuditRecord as AuditRecordModel
from models.enums import Role
from permissions.rules import VISIBLE, HasRole
from permissions.scope import visible
from resolvers.pagination import paginate
from schema.base import AppInfo, Connection
from schema.base import field as declared


@strawberry.type(description="One audited read of sensitive data, or one write.")
class AuditRecord:
    at: datetime = declared(VISIBLE, "When.")
    person_id: int | None = declared(VISIBLE, "The person who acted (database id).")
    token_id: int | None = declared(VISIBLE, "The API token that acted (database id).")
    role: str = declared(VISIBLE, "The strongest role of the actor.")
    action: str = declared(VISIBLE, "What was done, e.g. PERSON_CREATE or REVEAL.")
    subject_type: str = declared(VISIBLE, "The type of the objects concerned.")
    subject_ids: JSON = declared(VISIBLE, "Their database ids.")
    field: str = declared(VISIBLE, "For reveals: the field read.")
    outcome: str = declared(VISIBLE, "OK, DENIED or FAILED.")
    client_address: str = declared(VISIBLE, "The client's address.")
    unit_path: str = declared(VISIBLE, "Where in the hierarchy.")
    detail: JSON = declared(VISIBLE, "More about it.")


@strawberry.type
class AuditQuery:
    @declared(
        HasRole(Role.ADMIN),
        "The audit trail, newest last, filtered by action or person.",
    )
    async def audit_records(
        self,
        info: AppInfo,
        action: str | None = None,
        person_id: int | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[AuditRecord]:
        queryset = visible(AuditRecordModel, info.context.caller)
        if action:
            queryset = queryset.filter(action=action)
        if person_id is not None:
            queryset = queryset.filter(person_id=person_id)
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]
