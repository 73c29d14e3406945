"""Refresh tokens, one-time codes, failed-login counters and API tokens.

Secrets are never stored: only a SHA-256 of the token, with a short visible prefix
for API tokens so an operator can tell them apart.
"""

from tortoise import fields
from tortoise.models import Model

from models.organization import Organization
from models.person import Person

__all__ = ["ApiToken", "LoginFailure", "OneTimeCode", "RefreshToken"]


class RefreshToken(Model):
    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    session_id = fields.CharField(max_length=32, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    person_id: int

    class Meta:
        table = "refresh_token"


class OneTimeCode(Model):
    # A code sent to a phone to confirm a registration.

    id = fields.IntField(primary_key=True)
    phone = fields.CharField(max_length=20, db_index=True)
    code_hash = fields.CharField(max_length=64)
    purpose = fields.CharField(max_length=20)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    attempts = fields.SmallIntField(default=0)

    class Meta:
        table = "one_time_code"


class LoginFailure(Model):
    # One failed login, counted per account and per client address in a window.

    id = fields.IntField(primary_key=True)
    phone = fields.CharField(max_length=20, db_index=True)
    client_address = fields.CharField(max_length=64, db_index=True)
    at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "login_failure"


class ApiToken(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="api_tokens", on_delete=fields.RESTRICT
    )
    prefix = fields.CharField(max_length=16, unique=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person",
        related_name="created_tokens",
        null=True,
        on_delete=fields.SET_NULL,
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    organization_id: int
    created_by_id: int | None

    class Meta:
        table = "api_token"
