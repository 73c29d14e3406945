"""Signing in, refreshing, signing out, registering, and API tokens."""

from __future__ import annotations

from typing import Any

import httpx

from models import ApiToken, AuditRecord, LoginFailure, Person, RefreshToken
from schema.base import encode_id
from tests.conftest import LOGIN, Client
from tests.world import PASSWORD, World

REFRESH = """
mutation Refresh($token: String!) {
  authRefresh(refreshToken: $token) { accessToken refreshToken errors { code } }
}
"""
LOGOUT = "mutation { authLogout { ok errors { code } } }"
VIEWER = "{ viewer { isSignedIn person { name } } }"
CODE_REQUEST = """
mutation Code($phone: String!) {
  authCodeRequest(phone: $phone) { sent developmentCode errors { field code } }
}
"""
REGISTER = """
mutation Register($input: ResidentRegisterInput!) {
  residentRegister(input: $input) { accessToken errors { field code } }
}
"""
TOKEN_CREATE = """
mutation Create($org: ID!, $name: String!, $days: Int!) {
  apiTokenCreate(organizationId: $org, name: $name, days: $days) {
    secret apiToken { id prefix organization { name } } errors { field code }
  }
}
"""
TOKEN_REVOKE = """
mutation Revoke($id: ID!) {
  apiTokenRevoke(id: $id) { apiToken { revokedAt } errors { code } }
}
"""


async def _login(anonymous: Client, phone: str, password: str) -> dict[str, Any]:
    body = await anonymous.query(LOGIN, {"phone": phone, "password": password})
    result: dict[str, Any] = body["data"]["authLogin"]
    return result


async def test_a_wrong_password_is_a_payload_error_and_counts_a_failure(
    anonymous: Client, world: World
) -> None:
    # Given a known person
    # When they sign in with a wrong password
    result = await _login(anonymous, "13900000005", "wrong-password")

    # Then no tokens, a coded user error, a failure counted and audited
    assert result["accessToken"] is None
    assert result["errors"] == [
        {
            "field": "password",
            "message": "The phone number or the password is wrong.",
            "code": "INVALID_CREDENTIALS",
        }
    ]
    assert await LoginFailure.filter(phone="13900000005").count() == 1
    assert await AuditRecord.filter(action="AUTH_LOGIN", outcome="FAILED").count() == 1


async def test_an_unknown_phone_reads_exactly_like_a_wrong_password(
    anonymous: Client, world: World
) -> None:
    unknown = await _login(anonymous, "13700000000", PASSWORD)
    wrong = await _login(anonymous, "13900000005", "wrong-password")
    assert unknown["errors"] == wrong["errors"]


async def test_failed_logins_are_limited_per_account(
    anonymous: Client, world: World
) -> None:
    # Given five failures on one account
    for _ in range(5):
        await _login(anonymous, "13900000005", "wrong-password")

    # When the right password is tried next
    body = await anonymous.query(LOGIN, {"phone": "13900000005", "password": PASSWORD})

    # Then it is refused as too many requests, even though the password is right
    assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_REQUESTS"
    assert body["data"] is None


async def test_failed_logins_are_limited_per_address(
    anonymous: Client, world: World
) -> None:
    # Given 30 failures from one address over different phone numbers
    for n in range(30):
        await _login(anonymous, f"1370000{n:04d}", "wrong-password")

    # When a correct login comes from the same address
    body = await anonymous.query(LOGIN, {"phone": "13900000005", "password": PASSWORD})

    # Then it is refused too
    assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_REQUESTS"


async def test_a_good_login_clears_the_failures_and_the_token_works(
    anonymous: Client, http: httpx.AsyncClient, world: World
) -> None:
    await _login(anonymous, "13900000005", "wrong-password")
    result = await _login(anonymous, "13900000005", PASSWORD)
    assert result["errors"] == []
    assert await LoginFailure.filter(phone="13900000005").count() == 0

    body = await Client(http, result["accessToken"]).query(VIEWER)
    assert body["data"]["viewer"] == {
        "isSignedIn": True,
        "person": {"name": "甲一书记"},
    }


async def test_refresh_rotates_and_a_reused_token_ends_the_session(
    anonymous: Client, http: httpx.AsyncClient, world: World
) -> None:
    # Given a signed-in session
    first = await _login(anonymous, "13900000005", PASSWORD)

    # When its refresh token is exchanged
    body = await anonymous.query(REFRESH, {"token": first["refreshToken"]})
    second = body["data"]["authRefresh"]

    # Then a new pair comes back and the old refresh token is spent
    assert second["refreshToken"] and second["refreshToken"] != first["refreshToken"]
    assert await Client(http, second["accessToken"]).query(VIEWER)

    # When the spent token is presented again (someone copied it)
    reused = await anonymous.query(REFRESH, {"token": first["refreshToken"]})

    # Then it is refused, and the whole session ends, new tokens included
    assert reused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    again = await anonymous.query(REFRESH, {"token": second["refreshToken"]})
    assert again["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    response = await Client(http, second["accessToken"]).post(VIEWER)
    assert response.status_code == 401


async def test_logout_ends_the_session_for_its_access_token(
    anonymous: Client, http: httpx.AsyncClient, world: World
) -> None:
    result = await _login(anonymous, "13900000005", PASSWORD)
    client = Client(http, result["accessToken"])

    body = await client.query(LOGOUT)

    assert body["data"]["authLogout"]["ok"] is True
    assert (await client.post(VIEWER)).status_code == 401
    assert await RefreshToken.filter(revoked_at__isnull=True).count() == 0


async def test_a_resident_registers_with_a_code_and_chooses_a_community(
    anonymous: Client, world: World
) -> None:
    # Given a code sent to a new phone (shown in development mode)
    body = await anonymous.query(CODE_REQUEST, {"phone": "13612345678"})
    code = body["data"]["authCodeRequest"]["developmentCode"]
    assert body["data"]["authCodeRequest"]["sent"] is True and len(code) == 6

    # When they register in community A1 with it
    community = encode_id("OrgUnit", world.units["A1"].id)
    payload = {
        "phone": "13612345678",
        "code": code,
        "name": "新居民",
        "password": "a-long-password",
        "communityId": community,
    }
    result = await anonymous.query(REGISTER, {"input": payload})

    # Then they are signed in, a RESIDENT of A1
    assert result["data"]["residentRegister"]["errors"] == []
    assert result["data"]["residentRegister"]["accessToken"]
    person = await Person.get(phone="13612345678").prefetch_related("role_assignments")
    assert [r.unit_id for r in person.role_assignments] == [world.units["A1"].id]


async def test_registration_with_a_wrong_code_changes_nothing(
    anonymous: Client, world: World
) -> None:
    await anonymous.query(CODE_REQUEST, {"phone": "13612345678"})
    community = encode_id("OrgUnit", world.units["A1"].id)
    payload = {
        "phone": "13612345678",
        "code": "000000x",
        "name": "新居民",
        "password": "a-long-password",
        "communityId": community,
    }
    before = await Person.all().count()

    result = await anonymous.query(REGISTER, {"input": payload})

    assert result["data"]["residentRegister"]["errors"] == [
        {"field": "code", "code": "CODE_WRONG"}
    ]
    assert await Person.all().count() == before


async def test_registration_refuses_a_bad_phone_a_weak_password_and_a_non_community(
    anonymous: Client, world: World
) -> None:
    payload = {
        "phone": "12345",
        "code": "123456",
        "name": "新居民",
        "password": "short",
        "communityId": encode_id("OrgUnit", world.units["A"].id),
    }
    result = await anonymous.query(REGISTER, {"input": payload})
    codes = {e["code"] for e in result["data"]["residentRegister"]["errors"]}
    assert codes == {"INVALID_PHONE", "WEAK_PASSWORD", "NOT_A_COMMUNITY"}


async def test_api_tokens_are_shown_once_stored_hashed_and_revocable(
    login: Any, http: httpx.AsyncClient, world: World
) -> None:
    # Given an admin
    admin: Client = await login("admin")
    company = encode_id("Organization", world.organizations["company"].id)

    # When they create a token for the property company
    body = await admin.query(TOKEN_CREATE, {"org": company, "name": "ERP", "days": 30})
    created = body["data"]["apiTokenCreate"]

    # Then the secret is returned once and only its hash is stored
    secret = created["secret"]
    assert secret.startswith(created["apiToken"]["prefix"] + "_")
    stored = await ApiToken.get()
    assert secret not in (stored.token_hash, stored.prefix)

    # And the token works, records its use, and stops working once revoked
    token_client = Client(http, secret)
    viewer = await token_client.query("{ viewer { isApiToken isSignedIn } }")
    assert viewer["data"]["viewer"] == {"isApiToken": True, "isSignedIn": False}
    assert (await ApiToken.get()).last_used_at is not None
    assert await AuditRecord.filter(action="API_TOKEN_USE").count() == 1

    revoked = await admin.query(TOKEN_REVOKE, {"id": created["apiToken"]["id"]})
    assert revoked["data"]["apiTokenRevoke"]["apiToken"]["revokedAt"]
    assert (await token_client.post("{ viewer { isApiToken } }")).status_code == 401


async def test_token_creation_checks_lifetime_and_holder_and_jurisdiction(
    login: Any, world: World
) -> None:
    admin: Client = await login("admin")
    committee = encode_id("Organization", world.organizations["committee"].id)
    body = await admin.query(TOKEN_CREATE, {"org": committee, "name": "x", "days": 0})
    assert body["data"]["apiTokenCreate"]["errors"] == [
        {"field": "days", "code": "INVALID_LIFETIME"}
    ]

    cadre: Client = await login("cadre_a1")
    refused = await cadre.query(
        TOKEN_CREATE, {"org": committee, "name": "x", "days": 9}
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await ApiToken.all().count() == 0
