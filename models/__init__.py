"""Tortoise models, one module per domain. Imports nothing of the project above."""

from models.audit import AuditRecord
from models.care import (
    Beneficiary,
    BeneficiaryTag,
    CareSetting,
    TrackPoint,
    Visit,
    VisitOrder,
    VisitPhoto,
)
from models.content import Post
from models.coordination import DutyCheck, DutyItem
from models.duty import CheckInPoint, DutyCheckIn, DutyRule, WorkCalendarDay
from models.enums import Outcome
from models.evaluation import (
    EvaluationRound,
    EvaluationScore,
    Question,
    Questionnaire,
    Rating,
)
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
from models.property import (
    OwnershipClaimAttempt,
    PropertyOwnership,
    PropertyRecord,
)
from models.request import RequestCategory, RequestJoin, RequestStep, ServiceRequest
from models.task import StandingTask, Task, TaskAssignment, TaskTransition
from models.warning import Warning
from models.webhook import Webhook, WebhookDelivery

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
    PropertyRecord,
    PropertyOwnership,
    OwnershipClaimAttempt,
    Questionnaire,
    Question,
    EvaluationRound,
    Rating,
    EvaluationScore,
    DutyItem,
    DutyCheck,
    RequestCategory,
    ServiceRequest,
    RequestStep,
    RequestJoin,
    Webhook,
    WebhookDelivery,
    Post,
    ImportRun,
    ImportRowReport,
    JobLock,
    JobRun,
    Notification,
    Warning,
    Beneficiary,
    BeneficiaryTag,
    CareSetting,
    VisitOrder,
    Visit,
    VisitPhoto,
    TrackPoint,
    StandingTask,
    Task,
    TaskAssignment,
    TaskTransition,
    DutyRule,
    CheckInPoint,
    DutyCheckIn,
    WorkCalendarDay,
]

__all__ = [
    "ApiToken",
    "AuditRecord",
    "Beneficiary",
    "BeneficiaryTag",
    "Building",
    "CareSetting",
    "CheckInPoint",
    "CommunityKind",
    "DutyCheck",
    "DutyCheckIn",
    "DutyItem",
    "DutyRule",
    "Estate",
    "EstateManagement",
    "EvaluationRound",
    "EvaluationScore",
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
    "OwnershipClaimAttempt",
    "Person",
    "Post",
    "PropertyOwnership",
    "PropertyRecord",
    "Question",
    "Questionnaire",
    "Rating",
    "RefreshToken",
    "RequestCategory",
    "RequestJoin",
    "RequestStep",
    "Role",
    "RoleAssignment",
    "ServiceRequest",
    "StandingTask",
    "StoredFile",
    "Task",
    "TaskAssignment",
    "TaskTransition",
    "TrackPoint",
    "Visit",
    "VisitOrder",
    "VisitPhoto",
    "Warning",
    "Webhook",
    "WebhookDelivery",
    "WorkCalendarDay",
]
