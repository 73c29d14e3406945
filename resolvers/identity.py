"""Identity: login, refresh and logout for people; API tokens for other systems.

Access tokens are short-lived JWTs (HS256, key id in the header so keys rotate);
refresh tokens and API tokens are random strings stored only as SHA-256 hashes.
Refresh tokens rotate on use; presenting a rotated one again revokes its session.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import jwt
from tortoise.expressions import Q

from models import (
    ApiToken,
    AuditRecord,
    EstateManagement,
    LoginFailure,
    OneTimeCode,
    Organization,
    OrgUnit,
    Person,
    RefreshToken,
    RoleAssignment,
)
from models.enums import Level, OrganizationKind, Outcome, Role
from permissions.caller import Caller, Grant, community_path
from permissions.errors import Forbidden, NotFound, TooManyRequests, Unauthenticated
from permissions.scope import active_on, visible
from resolvers.base import Invalid, UserError, audit, write
from resolvers.context import Context
from resolvers.events import Event
from resolvers.passwords import hash_password, verify_password

__all__ = [
    "AuthConfig",
    "IssuedApiToken",
    "TokenPair",
    "authenticate_api_token",
    "authenticate_bearer",
    "caller_for_person",
    "create_api_token",
    "log_in",
    "log_out",
    "refresh",
    "register_resident",
    "request_code",
    "revoke_api_token",
    "session_is_live",
]

ALGORITHM = "HS256"
API_TOKEN_MARK = "ys_"
PHONE = re.compile(r"^1[3-9]\d{9}$")
MIN_PASSWORD = 8


@dataclass(frozen=True)
class AuthConfig:
    keys: dict[str, bytes]
    active_kid: str
    issuer: str = "yunshang"
    audience: str = "yunshang-api"
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=30)
    failure_window: timedelta = timedelta(minutes=15)
    max_failures_per_account: int = 5
    max_failures_per_address: int = 30
    code_ttl: timedelta = timedelta(minutes=10)
    code_interval: timedelta = timedelta(seconds=60)
    api_token_max_days: int = 366
    development: bool = False

    def __post_init__(self) -> None:
        if self.active_kid not in self.keys:
            raise ValueError("the active JWT key id has no key")
        if any(len(key) < 32 for key in self.keys.values()):
            raise ValueError("JWT keys must be at least 32 bytes")


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: datetime
    person_id: int


@dataclass(frozen=True)
class IssuedApiToken:
    token: ApiToken
    secret: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# -- callers ------------------------------------------------------------------


async def caller_for_person(
    person_id: int,
    now: datetime,
    client_address: str = "",
    expires_at: datetime | None = None,
    session_id: str | None = None,
) -> Caller:
    """A person's active grants, and the estates their organisations manage today."""
    rows = await RoleAssignment.filter(
        Q(person_id=person_id),
        Q(starts_at__lte=now),
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
    ).values(
        "role",
        "unit_id",
        "unit_path",
        "organization_id",
        level="unit__level",
        parent_path="unit__parent__path",
    )
    grants = tuple(
        Grant(
            Role(r["role"]),
            r["unit_id"],
            r["unit_path"],
            r["organization_id"],
            community_path(r["level"], r["unit_path"], r["parent_path"]),
        )
        for r in rows
    )
    estate_ids = await _estates_of(grants, now.date())
    return Caller(
        person_id=person_id,
        grants=grants,
        estate_ids=estate_ids,
        client_address=client_address,
        expires_at=expires_at,
        session_id=session_id,
    )


async def _estates_of(grants: tuple[Grant, ...], day: date) -> frozenset[int]:
    companies = [
        g.organization_id
        for g in grants
        if g.role == Role.PROPERTY_COMPANY and g.organization_id is not None
    ]
    committees = [
        g.organization_id
        for g in grants
        if g.role == Role.OWNERS_COMMITTEE and g.organization_id is not None
    ]
    estates: set[int] = set()
    if companies:
        managed = await EstateManagement.filter(
            active_on(day), company_id__in=companies
        ).values_list("estate_id", flat=True)
        estates.update(int(str(e)) for e in managed)
    if committees:
        own = await Organization.filter(
            id__in=committees, estate_id__isnull=False
        ).values_list("estate_id", flat=True)
        estates.update(int(str(e)) for e in own if e is not None)
    return frozenset(estates)


def _encode_access(config: AuthConfig, person_id: int, sid: str, now: datetime) -> str:
    claims = {
        "sub": str(person_id),
        "sid": sid,
        "iss": config.issuer,
        "aud": config.audience,
        "iat": int(now.timestamp()),
        "exp": int((now + config.access_ttl).timestamp()),
    }
    key = config.keys[config.active_kid]
    return jwt.encode(
        claims, key, algorithm=ALGORITHM, headers={"kid": config.active_kid}
    )


def _decode_access(config: AuthConfig, token: str, now: datetime) -> dict[str, Any]:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = config.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise Unauthenticated("The access token's key is unknown.")
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=config.audience,
            issuer=config.issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The access token has expired.") from None
    except jwt.PyJWTError:
        raise Unauthenticated("The access token is not valid.") from None
    return claims


async def session_is_live(session_id: str | None, now: datetime) -> bool:
    if session_id is None:
        return False
    return await RefreshToken.filter(
        session_id=session_id, revoked_at__isnull=True, expires_at__gt=now
    ).exists()


async def authenticate_bearer(
    context: Context, token: str, client_address: str
) -> Caller:
    """A caller from an ``Authorization: Bearer`` value: an API token or a JWT."""
    now = context.clock()
    if token.startswith(API_TOKEN_MARK):
        return await authenticate_api_token(token, now, client_address)

    claims = _decode_access(context.auth, token, now)
    session_id = claims.get("sid")
    if not isinstance(session_id, str) or not await session_is_live(session_id, now):
        raise Unauthenticated("The session has ended; sign in again.")
    person_id = int(claims["sub"])
    if not await Person.filter(id=person_id, is_active=True).exists():
        raise Unauthenticated("The account is disabled.")
    expires_at = datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo)
    return await caller_for_person(
        person_id, now, client_address, expires_at, session_id
    )


async def authenticate_api_token(
    secret: str, now: datetime, client_address: str
) -> Caller:
    token = await ApiToken.get_or_none(token_hash=_digest(secret)).prefetch_related(
        "organization"
    )
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise Unauthenticated("The API token is not valid, revoked or expired.")

    organization = token.organization
    role = (
        Role.PROPERTY_COMPANY
        if organization.kind == OrganizationKind.PROPERTY_COMPANY
        else Role.OWNERS_COMMITTEE
    )
    grant = Grant(role, organization.unit_id, organization.unit_path, organization.id)
    estates = await _estates_of((grant,), now.date())
    await ApiToken.filter(id=token.id).update(last_used_at=now)
    await AuditRecord.create(
        at=now,
        token_id=token.id,
        role=role.value,
        action="API_TOKEN_USE",
        subject_type="Organization",
        subject_ids=[organization.id],
        outcome=Outcome.OK,
        client_address=client_address,
        unit_path=organization.unit_path,
    )
    return Caller(
        token_id=token.id,
        grants=(grant,),
        estate_ids=estates,
        client_address=client_address,
        expires_at=token.expires_at,
    )


# -- people ---------------------------------------------------------------------


async def _check_login_limits(
    config: AuthConfig, phone: str, address: str, now: datetime
) -> None:
    since = now - config.failure_window
    per_account = await LoginFailure.filter(phone=phone, at__gt=since).count()
    per_address = await LoginFailure.filter(
        client_address=address, at__gt=since
    ).count()
    if (
        per_account >= config.max_failures_per_account
        or per_address >= config.max_failures_per_address
    ):
        raise TooManyRequests(
            "Too many failed sign-ins; wait a few minutes and try again."
        )


async def _issue(context: Context, person_id: int, session_id: str) -> TokenPair:
    now = context.clock()
    secret = secrets.token_urlsafe(32)
    await RefreshToken.create(
        person_id=person_id,
        token_hash=_digest(secret),
        session_id=session_id,
        expires_at=now + context.auth.refresh_ttl,
    )
    access = _encode_access(context.auth, person_id, session_id, now)
    return TokenPair(access, secret, now + context.auth.access_ttl, person_id)


async def log_in(context: Context, phone: str, password: str) -> TokenPair:
    """Sign a person in; ``Invalid`` for wrong credentials, limited per account and
    per client address."""
    config = context.auth
    now = context.clock()
    address = context.caller.client_address
    phone = phone.strip()
    await _check_login_limits(config, phone, address, now)

    person = await Person.get_or_none(phone=phone, is_active=True)
    if person is None or not verify_password(person.password_hash, password):
        await LoginFailure.create(phone=phone, client_address=address, at=now)
        await audit(context, "AUTH_LOGIN", Outcome.FAILED)
        raise Invalid(
            [
                UserError(
                    "password",
                    "The phone number or the password is wrong.",
                    "INVALID_CREDENTIALS",
                )
            ]
        )

    async with write(context, "AUTH_LOGIN") as work:
        await LoginFailure.filter(phone=phone).delete()
        pair = await _issue(context, person.id, secrets.token_hex(16))
        work.audit("Person", [person.id])
    return pair


async def refresh(context: Context, refresh_token: str) -> TokenPair:
    now = context.clock()
    row = await RefreshToken.get_or_none(token_hash=_digest(refresh_token))
    if row is None or row.expires_at <= now:
        raise Unauthenticated("The refresh token is not valid; sign in again.")
    if row.revoked_at is not None:
        # A rotated token presented again: someone else may hold it. End the session.
        await RefreshToken.filter(
            session_id=row.session_id, revoked_at__isnull=True
        ).update(revoked_at=now)
        await audit(
            context, "AUTH_REFRESH_REUSED", Outcome.DENIED, "Person", [row.person_id]
        )
        raise Unauthenticated("The refresh token was already used; sign in again.")

    async with write(context, "AUTH_REFRESH"):
        updated = await RefreshToken.filter(id=row.id, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if not updated:
            raise Unauthenticated("The refresh token was already used; sign in again.")
        return await _issue(context, row.person_id, row.session_id)


async def log_out(context: Context, refresh_token: str | None) -> bool:
    """End the caller's session (or the one of ``refresh_token``)."""
    now = context.clock()
    session_id = context.caller.session_id
    if refresh_token:
        row = await RefreshToken.get_or_none(token_hash=_digest(refresh_token))
        session_id = row.session_id if row else session_id
    if session_id is None:
        raise Unauthenticated("There is no session to end.")
    async with write(context, "AUTH_LOGOUT") as work:
        await RefreshToken.filter(
            session_id=session_id, revoked_at__isnull=True
        ).update(revoked_at=now)
        work.audit("Session", [session_id])
    return True


def _check_phone(phone: str) -> list[UserError]:
    if PHONE.match(phone):
        return []
    return [
        UserError("phone", "Enter an 11-digit mainland mobile number.", "INVALID_PHONE")
    ]


async def request_code(context: Context, phone: str) -> str:
    """Send a registration code; returns it (the app shows it only in development)."""
    phone = phone.strip()
    if errors := _check_phone(phone):
        raise Invalid(errors)
    now = context.clock()
    recent = await OneTimeCode.filter(
        phone=phone, created_at__gt=now - context.auth.code_interval
    ).exists()
    if recent:
        raise TooManyRequests("A code was sent a moment ago; wait a minute.")

    code = f"{secrets.randbelow(1_000_000):06d}"
    await OneTimeCode.create(
        phone=phone,
        code_hash=_digest(f"{phone}:{code}"),
        purpose="REGISTER",
        expires_at=now + context.auth.code_ttl,
    )
    await context.sender.send(
        phone, "REGISTER", f"云上村社验证码 {code}，10分钟内有效。"
    )
    return code


async def register_resident(
    context: Context,
    phone: str,
    code: str,
    name: str,
    password: str,
    community_id: int,
) -> Person:
    """A resident registers with a confirmed phone and chooses their community."""
    phone, name = phone.strip(), name.strip()
    now = context.clock()
    errors = _check_phone(phone)
    if not 1 <= len(name) <= 50:
        errors.append(
            UserError("name", "Enter a name of 1 to 50 characters.", "INVALID_NAME")
        )
    if len(password) < MIN_PASSWORD:
        errors.append(
            UserError(
                "password",
                f"Choose a password of at least {MIN_PASSWORD} characters.",
                "WEAK_PASSWORD",
            )
        )
    community = await OrgUnit.get_or_none(id=community_id, level=Level.COMMUNITY)
    if community is None:
        errors.append(
            UserError(
                "communityId", "Choose a village or community.", "NOT_A_COMMUNITY"
            )
        )
    if await Person.filter(phone=phone).exists():
        errors.append(
            UserError(
                "phone", "This phone number is already registered.", "PHONE_TAKEN"
            )
        )
    if errors:
        raise Invalid(errors)
    assert community is not None

    pending = (
        await OneTimeCode.filter(
            phone=phone, purpose="REGISTER", used_at__isnull=True, expires_at__gt=now
        )
        .order_by("-created_at")
        .first()
    )
    if pending is None or pending.attempts >= 5:
        raise Invalid([UserError("code", "Request a new code.", "CODE_EXPIRED")])
    if not secrets.compare_digest(
        pending.code_hash, _digest(f"{phone}:{code.strip()}")
    ):
        await OneTimeCode.filter(id=pending.id).update(attempts=pending.attempts + 1)
        raise Invalid([UserError("code", "The code is wrong.", "CODE_WRONG")])

    async with write(context, "RESIDENT_REGISTER") as work:
        await OneTimeCode.filter(id=pending.id).update(used_at=now)
        person = await Person.create(
            name=name, phone=phone, password_hash=hash_password(password)
        )
        await RoleAssignment.create(
            person=person,
            role=Role.RESIDENT,
            unit_id=community.id,
            unit_path=community.path,
            starts_at=now,
        )
        work.audit("Person", [person.id], community.path)
        work.emit(
            Event(
                "org",
                "RESIDENT_REGISTERED",
                community.path,
                "Person",
                person.id,
                person.id,
            )
        )
    return person


# -- API tokens -----------------------------------------------------------------

TOKEN_HOLDERS = frozenset(
    {OrganizationKind.PROPERTY_COMPANY, OrganizationKind.OWNERS_COMMITTEE}
)


async def _organization_in_reach(
    context: Context, organization_id: int
) -> Organization:
    organization = await visible(Organization, context.caller).get_or_none(
        id=organization_id
    )
    if organization is None:
        raise NotFound("No such organisation.")
    caller = context.caller
    if not (
        caller.is_admin
        or caller.covers(organization.unit_path, frozenset({Role.OFFICIAL}))
    ):
        raise Forbidden(
            "Only officials over this organisation, or admins, manage its tokens."
        )
    return organization


async def create_api_token(
    context: Context, organization_id: int, name: str, days: int
) -> IssuedApiToken:
    organization = await _organization_in_reach(context, organization_id)
    errors: list[UserError] = []
    name = name.strip()
    if not 1 <= len(name) <= 100:
        errors.append(
            UserError("name", "Name the token (1 to 100 characters).", "INVALID_NAME")
        )
    if not 1 <= days <= context.auth.api_token_max_days:
        errors.append(
            UserError(
                "days",
                f"A token lasts 1 to {context.auth.api_token_max_days} days.",
                "INVALID_LIFETIME",
            )
        )
    if organization.kind not in TOKEN_HOLDERS:
        errors.append(
            UserError(
                "organizationId",
                "Tokens are for property companies and owners' committees.",
                "NOT_A_TOKEN_HOLDER",
            )
        )
    if errors:
        raise Invalid(errors)

    now = context.clock()
    prefix = secrets.token_hex(4)
    secret = f"{API_TOKEN_MARK}{prefix}_{secrets.token_urlsafe(32)}"
    async with write(context, "API_TOKEN_CREATE") as work:
        token = await ApiToken.create(
            name=name,
            organization_id=organization.id,
            prefix=f"{API_TOKEN_MARK}{prefix}",
            token_hash=_digest(secret),
            created_by_id=context.caller.person_id,
            expires_at=now + timedelta(days=days),
        )
        work.audit("ApiToken", [token.id], organization.unit_path)
    return IssuedApiToken(token, secret)


async def revoke_api_token(context: Context, token_id: int) -> ApiToken:
    token = await visible(ApiToken, context.caller).get_or_none(id=token_id)
    if token is None:
        raise NotFound("No such API token.")
    organization = await _organization_in_reach(context, token.organization_id)
    if token.revoked_at is not None:
        raise Invalid(
            [UserError("id", "The token is already revoked.", "ALREADY_REVOKED")]
        )
    async with write(context, "API_TOKEN_REVOKE") as work:
        token.revoked_at = context.clock()
        await token.save(update_fields=["revoked_at"])
        work.audit("ApiToken", [token.id], organization.unit_path)
    return token
