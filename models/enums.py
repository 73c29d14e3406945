"""Enumerations shared by models and migrations.

Generated migrations import these by path: keep them here, never move them.
"""

from enum import StrEnum


class Level(StrEnum):
    PROVINCE = "PROVINCE"
    CITY = "CITY"
    DISTRICT = "DISTRICT"
    SUBDISTRICT = "SUBDISTRICT"
    COMMUNITY = "COMMUNITY"
    GRID = "GRID"


class CommunityKind(StrEnum):
    VILLAGE = "VILLAGE"
    URBAN = "URBAN"


class OrganizationKind(StrEnum):
    PARTY_ORGANIZATION = "PARTY_ORGANIZATION"
    RESIDENTS_COMMITTEE = "RESIDENTS_COMMITTEE"
    VILLAGERS_COMMITTEE = "VILLAGERS_COMMITTEE"
    OWNERS_COMMITTEE = "OWNERS_COMMITTEE"
    PROPERTY_COMPANY = "PROPERTY_COMPANY"
    DEPARTMENT = "DEPARTMENT"
    SOCIAL_ORGANIZATION = "SOCIAL_ORGANIZATION"


class Role(StrEnum):
    RESIDENT = "RESIDENT"
    PROPERTY_COMPANY = "PROPERTY_COMPANY"
    OWNERS_COMMITTEE = "OWNERS_COMMITTEE"
    CADRE = "CADRE"
    OFFICIAL = "OFFICIAL"
    ADMIN = "ADMIN"


class Outcome(StrEnum):
    OK = "OK"
    DENIED = "DENIED"
    FAILED = "FAILED"


class EvaluationTarget(StrEnum):
    PROPERTY_SERVICE = "PROPERTY_SERVICE"
    OWNERS_COMMITTEE = "OWNERS_COMMITTEE"


class RaterGroup(StrEnum):
    OWNERS = "OWNERS"
    PARTY_ORGANIZATION = "PARTY_ORGANIZATION"
    PROPERTY_COMPANY = "PROPERTY_COMPANY"
    SUBDISTRICT = "SUBDISTRICT"
    COMMUNITY = "COMMUNITY"


class RoundStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class ScoreStatus(StrEnum):
    SCORED = "SCORED"
    NOT_ENOUGH_RATINGS = "NOT_ENOUGH_RATINGS"


class DutyParty(StrEnum):
    RESIDENTS_COMMITTEE = "RESIDENTS_COMMITTEE"
    OWNERS_COMMITTEE = "OWNERS_COMMITTEE"
    PROPERTY_COMPANY = "PROPERTY_COMPANY"


class DutyFrequency(StrEnum):
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    YEARLY = "YEARLY"


class RequestStage(StrEnum):
    PUBLISHED = "PUBLISHED"
    DISPATCHED = "DISPATCHED"
    HANDLING = "HANDLING"
    VERIFYING = "VERIFYING"
    EVALUATED = "EVALUATED"


class HandlerKind(StrEnum):
    PROPERTY_COMPANY = "PROPERTY_COMPANY"
    COMMUNITY = "COMMUNITY"
    DEPARTMENT = "DEPARTMENT"


class RequestAction(StrEnum):
    PUBLISH = "PUBLISH"
    DISPATCH = "DISPATCH"
    ACCEPT = "ACCEPT"
    UPDATE = "UPDATE"
    RESOLVE = "RESOLVE"
    CONFIRM = "CONFIRM"
    EVALUATE = "EVALUATE"
    REOPEN = "REOPEN"
    RETURN = "RETURN"
    ESCALATE = "ESCALATE"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class PostKind(StrEnum):
    DISCLOSURE = "DISCLOSURE"
    NOTICE = "NOTICE"
    NEWS = "NEWS"


class DisclosureCategory(StrEnum):
    PARTY_AFFAIRS = "PARTY_AFFAIRS"
    VILLAGE_AFFAIRS = "VILLAGE_AFFAIRS"
    FINANCIAL_AFFAIRS = "FINANCIAL_AFFAIRS"


class CoordinateSystem(StrEnum):
    # GPS and browsers report WGS-84; Chinese map SDKs and many phones GCJ-02;
    # Baidu's SDK BD-09. Everything is stored as WGS-84.
    WGS84 = "WGS84"
    GCJ02 = "GCJ02"
    BD09 = "BD09"


class WarningKind(StrEnum):
    VISIT_OVERDUE = "VISIT_OVERDUE"
    NEW_BENEFICIARY = "NEW_BENEFICIARY"
    UNATTENDED = "UNATTENDED"
    DECEASED = "DECEASED"
    TASK_OVERDUE = "TASK_OVERDUE"
    REQUEST_OVERDUE = "REQUEST_OVERDUE"


class ImportOutcome(StrEnum):
    TAKEN = "TAKEN"
    MERGED = "MERGED"
    UNCHANGED = "UNCHANGED"
    REFUSED = "REFUSED"


class ImportStatus(StrEnum):
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


# -- care: beneficiaries and visits ------------------------------------------------


class BeneficiarySource(StrEnum):
    ZHELIJIU = "ZHELIJIU"
    CIVIL_AFFAIRS = "CIVIL_AFFAIRS"
    HOUSING = "HOUSING"
    DISABLED_FEDERATION = "DISABLED_FEDERATION"
    MANUAL = "MANUAL"


class BeneficiaryTagKind(StrEnum):
    LOW_INCOME = "LOW_INCOME"
    LOW_INCOME_EDGE = "LOW_INCOME_EDGE"
    EXTREME_POVERTY = "EXTREME_POVERTY"
    DISABILITY = "DISABILITY"
    ELDERLY_ALONE = "ELDERLY_ALONE"
    CHILD_IN_DIFFICULTY = "CHILD_IN_DIFFICULTY"
    HOUSING_SUBSIDY = "HOUSING_SUBSIDY"


class BeneficiaryStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DECEASED = "DECEASED"


class TagStatus(StrEnum):
    ACTIVE = "ACTIVE"
    REVIEW = "REVIEW"
    ENDED = "ENDED"


class TagReview(StrEnum):
    LAPSED = "LAPSED"
    NOT_LISTED = "NOT_LISTED"
    DECEASED = "DECEASED"


class VisitKind(StrEnum):
    ROUTINE = "ROUTINE"
    DISPATCHED = "DISPATCHED"


class VisitStatus(StrEnum):
    CHECKED_IN = "CHECKED_IN"
    REPORTED = "REPORTED"


class VisitOrderStatus(StrEnum):
    OPEN = "OPEN"
    DONE = "DONE"
    CLOSED = "CLOSED"


class VisitOrderReason(StrEnum):
    ORDERED = "ORDERED"
    OVERDUE = "OVERDUE"
    NEW_BENEFICIARY = "NEW_BENEFICIARY"


class TaskState(StrEnum):
    ISSUED = "ISSUED"
    ACCEPTED = "ACCEPTED"
    SUBMITTED = "SUBMITTED"
    VERIFIED = "VERIFIED"
    RETURNED = "RETURNED"


class TaskRequirement(StrEnum):
    REQUIRED_TEXT = "REQUIRED_TEXT"
    REQUIRED_FILES = "REQUIRED_FILES"
    BOTH = "BOTH"


class TaskCycle(StrEnum):
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
