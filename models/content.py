"""What a community publishes on its public page: disclosures, notices and news."""

from tortoise import fields
from tortoise.models import Model

from models.enums import DisclosureCategory, PostKind
from models.org import OrgUnit
from models.person import Person

__all__ = ["Post"]


class Post(Model):
    # One item of a community's public page (三务公开, 通知公告, 村社新闻). It is
    # public from ``published_at``; once withdrawn it stays, hidden, for the record.

    id = fields.IntField(primary_key=True)
    unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="posts", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    kind = fields.CharEnumField(PostKind, max_length=12)
    category = fields.CharEnumField(DisclosureCategory, max_length=20, null=True)
    title = fields.CharField(max_length=100)
    body = fields.TextField()
    published_at = fields.DatetimeField()
    published_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person",
        related_name="posts_published",
        null=True,
        on_delete=fields.RESTRICT,
    )
    withdrawn_at = fields.DatetimeField(null=True)
    withdrawn_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person",
        related_name="posts_withdrawn",
        null=True,
        on_delete=fields.RESTRICT,
    )

    unit_id: int
    published_by_id: int | None
    withdrawn_by_id: int | None

    class Meta:
        table = "post"
