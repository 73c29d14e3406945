"""The real-estate register of estates, and the owners verified against it.

A register line names a certificate (不动产权证) and one of its owners; co-owners
of one dwelling are several lines with the same certificate number. The owner's
ID number is never kept in clear: only a keyed fingerprint to match claims
against, and a masked form for staff to recognise a line by.
"""

from tortoise import fields
from tortoise.models import Model

from models.org import Estate, Household
from models.person import Person

__all__ = ["OwnershipClaimAttempt", "PropertyOwnership", "PropertyRecord"]


class PropertyRecord(Model):
    # One owner of one certificate, as the register of the estate lists it.

    id = fields.IntField(primary_key=True)
    estate: fields.ForeignKeyRelation[Estate] = fields.ForeignKeyField(
        "models.Estate", related_name="property_records", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    certificate_number = fields.CharField(max_length=60, db_index=True)
    # The dwelling as the register names it, e.g. 3幢 1202室.
    dwelling = fields.CharField(max_length=100)
    owner_name = fields.CharField(max_length=50)
    id_fingerprint = fields.CharField(max_length=64)
    id_masked = fields.CharField(max_length=18)
    household: fields.ForeignKeyNullableRelation[Household] = fields.ForeignKeyField(
        "models.Household",
        related_name="property_records",
        null=True,
        on_delete=fields.RESTRICT,
    )
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    # Set when an import of the whole register no longer lists the line (the
    # dwelling was sold, say); an ended line proves nothing in a claim.
    ended_at = fields.DatetimeField(null=True)

    estate_id: int
    household_id: int | None

    class Meta:
        table = "property_record"
        unique_together = (("certificate_number", "id_fingerprint"),)


class PropertyOwnership(Model):
    # A person proved to be the owner on a register line: a verified owner.

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="ownerships", on_delete=fields.RESTRICT
    )
    record: fields.ForeignKeyRelation[PropertyRecord] = fields.ForeignKeyField(
        "models.PropertyRecord", related_name="ownerships", on_delete=fields.RESTRICT
    )
    estate: fields.ForeignKeyRelation[Estate] = fields.ForeignKeyField(
        "models.Estate", related_name="ownerships", on_delete=fields.RESTRICT
    )
    household: fields.ForeignKeyNullableRelation[Household] = fields.ForeignKeyField(
        "models.Household",
        related_name="ownerships",
        null=True,
        on_delete=fields.RESTRICT,
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    # The property it proves, the same for co-owners: one rating per property.
    certificate_number = fields.CharField(max_length=60)
    verified_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)

    person_id: int
    record_id: int
    estate_id: int
    household_id: int | None

    class Meta:
        table = "property_ownership"
        unique_together = (("person", "record"),)


class OwnershipClaimAttempt(Model):
    # One claim, counted per person and per certificate against the limits. The
    # certificate is kept as a keyed fingerprint, the ID number not at all.

    id = fields.IntField(primary_key=True)
    person_id = fields.IntField(db_index=True)
    certificate_key = fields.CharField(max_length=64, db_index=True)
    at = fields.DatetimeField(db_index=True)
    matched = fields.BooleanField()
    code = fields.CharField(max_length=40, default="")

    class Meta:
        table = "ownership_claim_attempt"
