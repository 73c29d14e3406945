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
