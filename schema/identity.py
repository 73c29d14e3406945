"""Signing in and out, registering, and API tokens for other systems."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from models import ApiToken as ApiTokenModel
from models import Organization as OrganizationModel
from models.enums import Role
from permissions.rules import ANYONE, VISIBLE, HasRole
from permissions.scope import visible
from resolvers import identity
from resolvers.base import Invalid
from resolvers.pagination import paginate
from schema.base import (
    AppInfo,
    Connection,
    Node,
    UserErrorType,
    decode_id,
    failed,
    field,
    payload,
    structural,
)
from schema.node import register_node
from schema.org import Organization
from schema.relations import related

TOKEN_ADMINS = HasRole(Role.ADMIN, Role.OFFICIAL)


@strawberry.type(
    description="An API token of an organisation (the secret is never shown again)."
)
class ApiToken(Node):
    name: str = field(VISIBLE, "What it is for.")
    prefix: str = field(
        VISIBLE, "The visible start of the token, to tell tokens apart."
    )
    created_at: datetime = field(VISIBLE, "When it was created.")
    expires_at: datetime = field(VISIBLE, "When it stops working.")
    revoked_at: datetime | None = field(VISIBLE, "When it was revoked, if it was.")
    last_used_at: datetime | None = field(VISIBLE, "When it was last used.")

    organization: Organization | None = related(
        VISIBLE,
        "The organisation it acts for.",
        OrganizationModel,
        source="organization_id",
        many=False,
    )


register_node("ApiToken", ApiTokenModel)


@structural
@strawberry.type(description="The result of signing in or refreshing.")
class AuthPayload:
    errors: list[UserErrorType]
    access_token: str | None = strawberry.field(description="A short-lived JWT.")
    refresh_token: str | None = strawberry.field(
        description="Exchange it for a new pair with authRefresh; it works once."
    )
    expires_at: datetime | None = strawberry.field(
        description="When the access token expires."
    )


@structural
@strawberry.type
class AuthLogoutPayload:
    errors: list[UserErrorType]
    ok: bool


@structural
@strawberry.type
class AuthCodeRequestPayload:
    errors: list[UserErrorType]
    sent: bool
    development_code: str | None = strawberry.field(
        description="The code itself, only when the server runs in development mode."
    )


@strawberry.input(description="A resident's own registration.")
class ResidentRegisterInput:
    phone: str
    code: str
    name: str
    password: str
    community_id: strawberry.ID


@structural
@strawberry.type
class ApiTokenCreatePayload:
    errors: list[UserErrorType]
    api_token: ApiToken | None
    secret: str | None = strawberry.field(
        description="The token. Shown this once only."
    )


@structural
@strawberry.type
class ApiTokenRevokePayload:
    errors: list[UserErrorType]
    api_token: ApiToken | None


def _pair(pair: identity.TokenPair) -> Any:
    return payload(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_at=pair.expires_at,
    )


def _token_row(token: ApiTokenModel) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "organization_id": token.organization_id,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
        "last_used_at": token.last_used_at,
    }


PAIR = ("access_token", "refresh_token", "expires_at")


@strawberry.type
class IdentityMutation:
    @field(ANYONE, "Sign in with phone number and password.")
    async def auth_login(self, info: AppInfo, phone: str, password: str) -> AuthPayload:
        try:
            return _pair(await identity.log_in(info.context, phone, password))  # type: ignore[no-any-return]
        except Invalid as invalid:
            return failed(invalid, *PAIR)  # type: ignore[no-any-return]

    @field(ANYONE, "Exchange a refresh token for a new pair of tokens.")
    async def auth_refresh(self, info: AppInfo, refresh_token: str) -> AuthPayload:
        return _pair(await identity.refresh(info.context, refresh_token))  # type: ignore[no-any-return]

    @field(ANYONE, "End the session (the caller's, or the one of the refresh token).")
    async def auth_logout(
        self, info: AppInfo, refresh_token: str | None = None
    ) -> AuthLogoutPayload:
        await identity.log_out(info.context, refresh_token)
        return payload(ok=True)  # type: ignore[no-any-return]

    @field(ANYONE, "Send a one-time code to a phone, to register with it.")
    async def auth_code_request(
        self, info: AppInfo, phone: str
    ) -> AuthCodeRequestPayload:
        try:
            code = await identity.request_code(info.context, phone)
        except Invalid as invalid:
            result: Any = {**failed(invalid, "development_code"), "sent": False}
            return result  # type: ignore[no-any-return]
        shown = code if info.context.auth.development else None
        return payload(sent=True, development_code=shown)  # type: ignore[no-any-return]

    @field(ANYONE, "Register as a resident of a community, with a code sent by SMS.")
    async def resident_register(
        self, info: AppInfo, input: ResidentRegisterInput
    ) -> AuthPayload:
        try:
            await identity.register_resident(
                info.context,
                input.phone,
                input.code,
                input.name,
                input.password,
                decode_id(input.community_id, "OrgUnit")[1],
            )
            pair = await identity.log_in(info.context, input.phone, input.password)
        except Invalid as invalid:
            return failed(invalid, *PAIR)  # type: ignore[no-any-return]
        return _pair(pair)  # type: ignore[no-any-return]

    @field(
        TOKEN_ADMINS, "Create an API token for a property company or owners' committee."
    )
    async def api_token_create(
        self, info: AppInfo, organization_id: strawberry.ID, name: str, days: int = 90
    ) -> ApiTokenCreatePayload:
        try:
            issued = await identity.create_api_token(
                info.context, decode_id(organization_id, "Organization")[1], name, days
            )
        except Invalid as invalid:
            return failed(invalid, "api_token", "secret")  # type: ignore[no-any-return]
        return payload(api_token=_token_row(issued.token), secret=issued.secret)  # type: ignore[no-any-return]

    @field(TOKEN_ADMINS, "Revoke an API token at once.")
    async def api_token_revoke(
        self, info: AppInfo, id: strawberry.ID
    ) -> ApiTokenRevokePayload:
        try:
            token = await identity.revoke_api_token(
                info.context, decode_id(id, "ApiToken")[1]
            )
        except Invalid as invalid:
            return failed(invalid, "api_token")  # type: ignore[no-any-return]
        return payload(api_token=_token_row(token))  # type: ignore[no-any-return]


@strawberry.type
class IdentityQuery:
    @field(TOKEN_ADMINS, "API tokens the caller manages.")
    async def api_tokens(
        self,
        info: AppInfo,
        organization_id: strawberry.ID | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[ApiToken]:
        queryset = visible(ApiTokenModel, info.context.caller)
        if organization_id is not None:
            queryset = queryset.filter(
                organization_id=decode_id(organization_id, "Organization")[1]
            )
        page: Any = await paginate(
            queryset,
            first,
            after,
            "id",
            "name",
            "prefix",
            "organization_id",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
        )
        return page  # type: ignore[no-any-return]
