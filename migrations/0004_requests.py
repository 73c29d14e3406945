from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import DeliveryStatus, HandlerKind, RequestAction, RequestStage
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_estates')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RequestCategory',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('name', fields.CharField(max_length=50)),
                ('description', fields.CharField(default='', max_length=500)),
                ('group', fields.CharField(default='', max_length=50)),
                ('keywords', fields.CharField(default='', max_length=200)),
                ('handler_kind', fields.CharEnumField(description='PROPERTY_COMPANY: PROPERTY_COMPANY\nCOMMUNITY: COMMUNITY\nDEPARTMENT: DEPARTMENT', enum_type=HandlerKind, max_length=20)),
                ('department', fields.ForeignKeyField('models.Organization', source_field='department_id', null=True, db_constraint=True, to_field='id', related_name='request_categories', on_delete=OnDelete.RESTRICT)),
                ('deadline_hours', fields.IntField()),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'request_category', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ServiceRequest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('category', fields.ForeignKeyField('models.RequestCategory', source_field='category_id', db_constraint=True, to_field='id', related_name='requests', on_delete=OnDelete.RESTRICT)),
                ('raised_by', fields.ForeignKeyField('models.Person', source_field='raised_by_id', db_index=True, db_constraint=True, to_field='id', related_name='service_requests', on_delete=OnDelete.RESTRICT)),
                ('unit', fields.ForeignKeyField('models.OrgUnit', source_field='unit_id', db_constraint=True, to_field='id', related_name='service_requests', on_delete=OnDelete.RESTRICT)),
                ('unit_path', fields.CharField(db_index=True, max_length=255)),
                ('estate', fields.ForeignKeyField('models.Estate', source_field='estate_id', null=True, db_index=True, db_constraint=True, to_field='id', related_name='service_requests', on_delete=OnDelete.RESTRICT)),
                ('text', fields.CharField(max_length=4000)),
                ('address', fields.CharField(default='', max_length=200)),
                ('latitude', fields.FloatField(null=True)),
                ('longitude', fields.FloatField(null=True)),
                ('photo_ids', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('is_public', fields.BooleanField(default=False)),
                ('join_count', fields.IntField(default=0)),
                ('stage', fields.CharEnumField(db_index=True, description='PUBLISHED: PUBLISHED\nDISPATCHED: DISPATCHED\nHANDLING: HANDLING\nVERIFYING: VERIFYING\nEVALUATED: EVALUATED', enum_type=RequestStage, max_length=16)),
                ('handler_kind', fields.CharEnumField(null=True, description='PROPERTY_COMPANY: PROPERTY_COMPANY\nCOMMUNITY: COMMUNITY\nDEPARTMENT: DEPARTMENT', enum_type=HandlerKind, max_length=20)),
                ('handler_organization', fields.ForeignKeyField('models.Organization', source_field='handler_organization_id', null=True, db_index=True, db_constraint=True, to_field='id', related_name='handled_requests', on_delete=OnDelete.RESTRICT)),
                ('due_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('escalation_level', fields.SmallIntField(default=0)),
                ('reopen_count', fields.SmallIntField(default=0)),
                ('rating', fields.SmallIntField(null=True)),
                ('comment', fields.CharField(default='', max_length=1000)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'service_request', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RequestJoin',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('request', fields.ForeignKeyField('models.ServiceRequest', source_field='request_id', db_index=True, db_constraint=True, to_field='id', related_name='joins', on_delete=OnDelete.CASCADE)),
                ('person', fields.ForeignKeyField('models.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='request_joins', on_delete=OnDelete.RESTRICT)),
                ('unit_path', fields.CharField(db_index=True, max_length=255)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'request_join', 'app': 'models', 'unique_together': (('request', 'person'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RequestStep',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('request', fields.ForeignKeyField('models.ServiceRequest', source_field='request_id', db_index=True, db_constraint=True, to_field='id', related_name='steps', on_delete=OnDelete.CASCADE)),
                ('unit_path', fields.CharField(db_index=True, max_length=255)),
                ('action', fields.CharEnumField(description='PUBLISH: PUBLISH\nDISPATCH: DISPATCH\nACCEPT: ACCEPT\nUPDATE: UPDATE\nRESOLVE: RESOLVE\nCONFIRM: CONFIRM\nEVALUATE: EVALUATE\nREOPEN: REOPEN\nRETURN: RETURN\nESCALATE: ESCALATE', enum_type=RequestAction, max_length=16)),
                ('from_stage', fields.CharEnumField(null=True, description='PUBLISHED: PUBLISHED\nDISPATCHED: DISPATCHED\nHANDLING: HANDLING\nVERIFYING: VERIFYING\nEVALUATED: EVALUATED', enum_type=RequestStage, max_length=16)),
                ('to_stage', fields.CharEnumField(description='PUBLISHED: PUBLISHED\nDISPATCHED: DISPATCHED\nHANDLING: HANDLING\nVERIFYING: VERIFYING\nEVALUATED: EVALUATED', enum_type=RequestStage, max_length=16)),
                ('actor_person_id', fields.IntField(null=True)),
                ('actor_token_id', fields.IntField(null=True)),
                ('actor_role', fields.CharField(max_length=20)),
                ('note', fields.CharField(default='', max_length=1000)),
                ('photo_ids', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'request_step', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Webhook',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='webhooks', on_delete=OnDelete.RESTRICT)),
                ('unit_path', fields.CharField(db_index=True, max_length=255)),
                ('url', fields.CharField(max_length=500)),
                ('secret', fields.CharField(max_length=100)),
                ('events', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_by_token_id', fields.IntField(null=True)),
                ('created_by_person_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('webhook', fields.ForeignKeyField('models.Webhook', source_field='webhook_id', db_index=True, db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('unit_path', fields.CharField(db_index=True, max_length=255)),
                ('event', fields.CharField(max_length=40)),
                ('subject_id', fields.IntField()),
                ('body', fields.TextField(unique=False)),
                ('status', fields.CharEnumField(db_index=True, description='PENDING: PENDING\nDELIVERED: DELIVERED\nFAILED: FAILED', enum_type=DeliveryStatus, max_length=12)),
                ('attempts', fields.SmallIntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('last_status_code', fields.IntField(null=True)),
                ('last_error', fields.CharField(default='', max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_delivery', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
