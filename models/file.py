"""Uploaded files, stored once per content hash."""

from tortoise import fields
from tortoise.models import Model

__all__ = ["StoredFile"]


class StoredFile(Model):
    id = fields.IntField(primary_key=True)
    sha256 = fields.CharField(max_length=64, db_index=True)
    size = fields.BigIntField()
    media_type = fields.CharField(max_length=100)
    filename = fields.CharField(max_length=200)
    uploaded_by_id = fields.IntField(null=True)
    unit_path = fields.CharField(max_length=255, default="", db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "stored_file"
