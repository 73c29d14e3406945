"""Scheduled jobs: one lock row per job, and a record of each run."""

from typing import Any

from tortoise import fields
from tortoise.models import Model

__all__ = ["JobLock", "JobRun"]


class JobLock(Model):
    # Held while a job runs, so two workers never run the same job at once;
    # ``locked_until`` lets a lock left by a crashed worker lapse.
    name = fields.CharField(max_length=60, primary_key=True)
    locked_until = fields.DatetimeField(null=True)
    holder = fields.CharField(max_length=64, default="")
    last_started_at = fields.DatetimeField(null=True)
    last_finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "job_lock"


class JobRun(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=60, db_index=True)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    # OK, FAILED, or SKIPPED when another worker held the lock.
    outcome = fields.CharField(max_length=10)
    counts: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    failure = fields.CharField(max_length=300, default="")

    class Meta:
        table = "job_run"
