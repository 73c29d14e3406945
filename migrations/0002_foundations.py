from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import ImportOutcome, ImportStatus, WarningKind
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ImportRun',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(db_index=True, max_length=60)),
                ('unit', fields.ForeignKeyField('models.OrgUnit', source_field='unit_id', null=True, db_constraint=True, to_field='id', related_name='imports', on_delete=OnDelete.RESTRICT)),
                ('unit_path', fields.CharField(default='', db_index=True, max_length=255)),
                ('target_type', fields.CharField(default='', max_length=40)),
                ('target_id', fields.IntField(null=True)),
                ('filename', fields.CharField(max_length=200)),
                ('digest', fields.CharField(max_length=64)),
                ('started_by_id', fields.IntField(null=True)),
                ('token_id', fields.IntField(null=True)),
                ('status', fields.CharEnumField(description='RUNNING: RUNNING\nDONE: DONE\nFAILED: FAILED', enum_type=ImportStatus, max_length=10)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('total_rows', fields.IntField(default=0)),
                ('done_rows', fields.IntField(default=0)),
                ('counts', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('failure', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'import_run', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ImportRowReport',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run', fields.ForeignKeyField('models.ImportRun', source_field='run_id', db_constraint=True, to_field='id', related_name='reports', on_delete=OnDelete.CASCADE)),
                ('row_number', fields.IntField()),
                ('outcome', fields.CharEnumField(description='TAKEN: TAKEN\nMERGED: MERGED\nUNCHANGED: UNCHANGED\nREFUSED: REFUSED', enum_type=ImportOutcome, max_length=10)),
                ('code', fields.CharField(default='', max_length=60)),
                ('message', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'import_row_report', 'app': 'models', 'indexes': [Index(fields=['run_id', 'row_number'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='JobLock',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=60)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('holder', fields.CharField(default='', max_length=64)),
                ('last_started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'job_lock', 'app': 'models', 'pk_attr': 'name'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='JobRun',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(db_index=True, max_length=60)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('outcome', fields.CharField(max_length=10)),
                ('counts', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('failure', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'job_run', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('person', fields.ForeignKeyField('models.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=40)),
                ('title', fields.CharField(max_length=200)),
                ('body', fields.TextField(default='', unique=False)),
                ('subject_type', fields.CharField(default='', max_length=40)),
                ('subject_id', fields.IntField(null=True)),
                ('unit_path', fields.CharField(default='', max_length=255)),
                ('key', fields.CharField(max_length=160)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notification', 'app': 'models', 'unique_together': (('person', 'key'),), 'indexes': [Index(fields=['person_id', 'read_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Warning',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='VISIT_OVERDUE: VISIT_OVERDUE\nNEW_BENEFICIARY: NEW_BENEFICIARY\nUNATTENDED: UNATTENDED\nDECEASED: DECEASED\nTASK_OVERDUE: TASK_OVERDUE\nREQUEST_OVERDUE: REQUEST_OVERDUE', enum_type=WarningKind, max_length=20)),
                ('unit', fields.ForeignKeyField('models.OrgUnit', source_field='unit_id', db_constraint=True, to_field='id', related_name='warnings', on_delete=OnDelete.RESTRICT)),
                ('unit_path', fields.CharField(db_index=True, max_length=255)),
                ('subject_type', fields.CharField(max_length=40)),
                ('subject_id', fields.IntField()),
                ('key', fields.CharField(db_index=True, max_length=160)),
                ('open_key', fields.CharField(null=True, unique=True, max_length=160)),
                ('raised_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolved_by_id', fields.IntField(null=True)),
                ('resolution', fields.CharField(default='', max_length=200)),
                ('detail', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'warning', 'app': 'models', 'indexes': [Index(fields=['subject_type', 'subject_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
