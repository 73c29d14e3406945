from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise.fields.db_defaults import SqlDefault
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0009_property_record_ended')]

    initial = False

    operations = [
        ops.AddField(
            model_name='DutyRule',
            name='point_ids',
            field=fields.JSONField(default=list, db_default=SqlDefault("'[]'"), encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
