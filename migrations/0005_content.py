from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import DisclosureCategory, PostKind
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_requests')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Post',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('unit', fields.ForeignKeyField('models.OrgUnit', source_field='unit_id', db_constraint=True, to_field='id', related_name='posts', on_delete=OnDelete.RESTRICT)),
                ('unit_path', fields.CharField(db_index=True, max_length=255)),
                ('kind', fields.CharEnumField(description='DISCLOSURE: DISCLOSURE\nNOTICE: NOTICE\nNEWS: NEWS', enum_type=PostKind, max_length=12)),
                ('category', fields.CharEnumField(null=True, description='PARTY_AFFAIRS: PARTY_AFFAIRS\nVILLAGE_AFFAIRS: VILLAGE_AFFAIRS\nFINANCIAL_AFFAIRS: FINANCIAL_AFFAIRS', enum_type=DisclosureCategory, max_length=20)),
                ('title', fields.CharField(max_length=100)),
                ('body', fields.TextField(unique=False)),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('published_by', fields.ForeignKeyField('models.Person', source_field='published_by_id', null=True, db_constraint=True, to_field='id', related_name='posts_published', on_delete=OnDelete.RESTRICT)),
                ('withdrawn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('withdrawn_by', fields.ForeignKeyField('models.Person', source_field='withdrawn_by_id', null=True, db_constraint=True, to_field='id', related_name='posts_withdrawn', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'post', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
