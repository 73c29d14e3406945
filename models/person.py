"""People, the roles they hold where, and the households they live in."""

from tortoise import fields
from tortoise.models import Model

from models.enums import Role
from models.org import Household, OrgUnit
from models.organization import Organization

__all__ = ["HouseholdMember", "Person", "Role", "RoleAssignment"]


class Person(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=50)
    phone = fields.CharField(max_length=20, unique=True, null=True)
    password_hash = fields.CharField(max_length=200, null=True)
    id_number = fields.CharField(max_length=18, null=True, db_index=True)
    gender = fields.CharField(max_length=1, null=True)
    birth_date = fields.DateField(null=True)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "person"


class RoleAssignment(Model):
    # A person holds ``role`` at an org unit or an organisation, over a period.

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="role_assignments", on_delete=fields.RESTRICT
    )
    role = fields.CharEnumField(Role, max_length=20)
    unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="role_assignments", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    organization: fields.ForeignKeyNullableRelation[Organization] = (
        fields.ForeignKeyField(
            "models.Organization",
            related_name="role_assignments",
            null=True,
            on_delete=fields.RESTRICT,
        )
    )
    title = fields.CharField(max_length=50, default="")
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    person_id: int
    unit_id: int
    organization_id: int | None

    class Meta:
        table = "role_assignment"


class HouseholdMember(Model):
    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="memberships", on_delete=fields.RESTRICT
    )
    household: fields.ForeignKeyRelation[Household] = fields.ForeignKeyField(
        "models.Household", related_name="members", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    relation = fields.CharField(max_length=20, default="")
    is_owner = fields.BooleanField(default=False)
    starts_on = fields.DateField()
    ends_on = fields.DateField(null=True)

    person_id: int
    household_id: int

    class Meta:
        table = "household_member"
