"""Who is asking: a person or an API token, with each role's place in the hierarchy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from models.enums import Level, Role

__all__ = ["ANONYMOUS", "Caller", "Grant"]

# Roles whose holders see everything in the subtree of the unit they hold it at.
STAFF_ROLES = frozenset({Role.ADMIN, Role.OFFICIAL, Role.CADRE})


@dataclass(frozen=True, slots=True)
class Grant:
    """One role held at one org unit (and, for some roles, one organisation)."""

    role: Role
    unit_id: int
    unit_path: str
    organization_id: int | None = None
    # The community the unit is or lies in (a grid's community), when it is one
    # of those: what a cadre's own charges are bounded by.
    community_path: str | None = None


def community_path(level: str, path: str, parent_path: str | None) -> str | None:
    """The path of the community a unit is (COMMUNITY) or lies in (GRID)."""
    if level == Level.COMMUNITY:
        return path
    if level == Level.GRID:
        return parent_path
    return None


@dataclass(frozen=True, slots=True)
class Caller:
    """The resolved identity of a request or a websocket connection."""

    person_id: int | None = None
    token_id: int | None = None
    grants: tuple[Grant, ...] = ()
    estate_ids: frozenset[int] = frozenset()
    client_address: str = ""
    expires_at: datetime | None = None
    session_id: str | None = None
    roles: frozenset[Role] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(g.role for g in self.grants))

    @property
    def is_anonymous(self) -> bool:
        return self.person_id is None and self.token_id is None

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def primary_role(self) -> str:
        """The strongest role, for log lines and audit records."""
        for role in (
            Role.ADMIN,
            Role.OFFICIAL,
            Role.CADRE,
            Role.PROPERTY_COMPANY,
            Role.OWNERS_COMMITTEE,
            Role.RESIDENT,
        ):
            if role in self.roles:
                return role.value
        return "ANONYMOUS" if self.is_anonymous else "PERSON"

    def paths(self, roles: frozenset[Role] = STAFF_ROLES) -> tuple[str, ...]:
        """The subtree roots where the caller holds one of ``roles``."""
        return tuple(g.unit_path for g in self.grants if g.role in roles)

    def covers(self, path: str | None, roles: frozenset[Role] = STAFF_ROLES) -> bool:
        """Whether ``path`` is under a unit where the caller holds one of ``roles``."""
        if path is None:
            return False
        return any(path.startswith(g.unit_path) for g in self.grants if g.role in roles)

    def organization_ids(self, role: Role) -> frozenset[int]:
        return frozenset(
            g.organization_id
            for g in self.grants
            if g.role == role and g.organization_id is not None
        )


ANONYMOUS = Caller()
