"""Field and operation rules: who may read a field, who may call an operation.

A rule is decided once per request for the caller (``decide``). Most rules settle
there: the caller may, or may not, whatever the row. Rules that depend on the row
(the caller's own record, a row inside the caller's jurisdiction) answer ``ROW`` and
are then checked per row with ``allows``, which is a comparison, not a query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import Any

from models.enums import Role
from permissions.caller import Caller

__all__ = [
    "ANYONE",
    "SIGNED_IN",
    "STAFF",
    "VISIBLE",
    "AnyOf",
    "Decision",
    "HasRole",
    "InJurisdiction",
    "ManagesEstate",
    "Own",
    "Rule",
    "Sensitive",
    "mask_id_number",
    "mask_phone",
]

Row = Mapping[str, Any]


class Decision(IntEnum):
    DENY = 0
    ALLOW = 1
    ROW = 2


class Rule:
    """Base of all rules; combine rules with ``|``."""

    sensitive = False

    def decide(self, caller: Caller) -> Decision:
        raise NotImplementedError

    def allows(self, caller: Caller, row: Row) -> bool:
        return self.decide(caller) == Decision.ALLOW

    def describe(self) -> str:
        raise NotImplementedError

    def __or__(self, other: Rule) -> AnyOf:
        return AnyOf(self, other)


class _Visible(Rule):
    """Anyone who may see the row may see this field."""

    def decide(self, caller: Caller) -> Decision:
        return Decision.ALLOW

    def describe(self) -> str:
        return "whoever may see the object"


class _Anyone(Rule):
    def decide(self, caller: Caller) -> Decision:
        return Decision.ALLOW

    def describe(self) -> str:
        return "anyone, signed in or not"


class _SignedIn(Rule):
    def decide(self, caller: Caller) -> Decision:
        return Decision.DENY if caller.is_anonymous else Decision.ALLOW

    def describe(self) -> str:
        return "any signed-in person or API token"


class HasRole(Rule):
    """The caller holds one of the roles, anywhere."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    def decide(self, caller: Caller) -> Decision:
        return Decision.ALLOW if caller.roles & self.roles else Decision.DENY

    def describe(self) -> str:
        return ", ".join(sorted(r.value for r in self.roles))


class Own(Rule):
    """The row is the caller's own: ``row[key]`` is the caller's person id."""

    def __init__(self, key: str = "person_id") -> None:
        self.key = key

    def decide(self, caller: Caller) -> Decision:
        return Decision.DENY if caller.person_id is None else Decision.ROW

    def allows(self, caller: Caller, row: Row) -> bool:
        return caller.person_id is not None and row.get(self.key) == caller.person_id

    def describe(self) -> str:
        return "the person it belongs to"


class InJurisdiction(Rule):
    """The row lies under a unit where the caller holds one of the roles.

    ``ADMIN`` in the roles lets platform operators read it everywhere.
    """

    def __init__(self, *roles: Role, key: str = "unit_path") -> None:
        self.roles = frozenset(roles)
        self.key = key

    def decide(self, caller: Caller) -> Decision:
        held = caller.roles & self.roles
        if not held:
            return Decision.DENY
        if Role.ADMIN in held:
            return Decision.ALLOW
        return Decision.ROW

    def allows(self, caller: Caller, row: Row) -> bool:
        return caller.covers(row.get(self.key), self.roles)

    def describe(self) -> str:
        names = ", ".join(sorted(r.value for r in self.roles))
        return f"{names} whose jurisdiction contains it"


class ManagesEstate(Rule):
    """The row belongs to an estate the caller's property company manages now."""

    def __init__(self, key: str = "estate_id") -> None:
        self.key = key

    def decide(self, caller: Caller) -> Decision:
        return Decision.ROW if caller.estate_ids else Decision.DENY

    def allows(self, caller: Caller, row: Row) -> bool:
        return row.get(self.key) in caller.estate_ids

    def describe(self) -> str:
        return "the property company managing its estate"


class AnyOf(Rule):
    def __init__(self, *rules: Rule) -> None:
        flat: list[Rule] = []
        for rule in rules:
            flat.extend(rule.rules if isinstance(rule, AnyOf) else [rule])
        self.rules: tuple[Rule, ...] = tuple(flat)

    def decide(self, caller: Caller) -> Decision:
        decisions = [rule.decide(caller) for rule in self.rules]
        if Decision.ALLOW in decisions:
            return Decision.ALLOW
        if Decision.ROW in decisions:
            return Decision.ROW
        return Decision.DENY

    def allows(self, caller: Caller, row: Row) -> bool:
        return any(
            rule.allows(caller, row)
            for rule in self.rules
            if rule.decide(caller) != Decision.DENY
        )

    def describe(self) -> str:
        return "; ".join(rule.describe() for rule in self.rules)


class Sensitive(Rule):
    """Sensitive personal data: masked for whoever ``rule`` refuses, audited on reveal.

    ``mask`` turns the clear value into what others see (``None`` hides it whole).
    """

    sensitive = True

    def __init__(self, rule: Rule, mask: Callable[[Any], Any] | None = None) -> None:
        self.rule = rule
        self.mask = mask

    def decide(self, caller: Caller) -> Decision:
        return self.rule.decide(caller)

    def allows(self, caller: Caller, row: Row) -> bool:
        return self.rule.allows(caller, row)

    def describe(self) -> str:
        shown = "masked" if self.mask else "hidden"
        return f"{self.rule.describe()} (sensitive: {shown} for others, reads audited)"


def mask_phone(value: Any) -> Any:
    """``13812345678`` → ``138****5678``."""
    if not isinstance(value, str) or len(value) < 7:
        return None if value is None else "****"
    return f"{value[:3]}****{value[-4:]}"


def mask_id_number(value: Any) -> Any:
    """An 18-digit resident ID keeps its region prefix and its last digit."""
    if not isinstance(value, str) or len(value) < 8:
        return None if value is None else "****"
    return f"{value[:3]}{'*' * (len(value) - 4)}{value[-1]}"


VISIBLE: Rule = _Visible()
ANYONE: Rule = _Anyone()
SIGNED_IN: Rule = _SignedIn()
STAFF: Rule = HasRole(Role.ADMIN, Role.OFFICIAL, Role.CADRE)
