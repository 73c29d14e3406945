"""Tortoise models, one module per domain. Imports nothing of the project above."""

from models.audit import AuditRecord
from models.enums import Outcome
from models.file import StoredFile
from models.identity import ApiToken, LoginFailure, OneTimeCode, RefreshToken
from models.imports import ImportRowReport, ImportRun
from models.job import JobLock, JobRun
from models.notification import Notification
from models.org import (
    Building,
    CommunityKind,
    Estate,
    Household,
    Level,
    OrgUnit,
)
from models.organization import EstateManagement, Organization, OrganizationKind
from models.person import HouseholdMember, Person, Role, RoleAssignment
from models.warning import Warning

__models__ = [
    AuditRecord,
    StoredFile,
    ApiToken,
    LoginFailure,
    OneTimeCode,
    RefreshToken,
    Building,
    Estate,
    Household,
    OrgUnit,
    EstateManagement,
    Organization,
    HouseholdMember,
    Person,
    RoleAssignment,
    ImportRun,
    ImportRowReport,
    JobLock,
    JobRun,
    Notification,
    Warning,
]

__all__ = [
    "ApiToken",
    "AuditRecord",
    "Building",
    "CommunityKind",
    "Estate",
    "EstateManagement",
    "Household",
    "HouseholdMember",
    "ImportRowReport",
    "ImportRun",
    "JobLock",
    "JobRun",
    "Level",
    "LoginFailure",
    "Notification",
    "OneTimeCode",
    "OrgUnit",
    "Organization",
    "OrganizationKind",
    "Outcome",
    "Person",
    "RefreshToken",
    "Role",
    "RoleAssignment",
    "StoredFile",
    "Warning",
]
