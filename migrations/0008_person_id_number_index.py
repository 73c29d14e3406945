from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_tasks')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Person',
            name='id_number',
            field=fields.CharField(null=True, db_index=True, max_length=18),
        ),
    ]
