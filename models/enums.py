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
