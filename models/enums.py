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


class PostKind(StrEnum):
    DISCLOSURE = "DISCLOSURE"
    NOTICE = "NOTICE"
    NEWS = "NEWS"


class DisclosureCategory(StrEnum):
    PARTY_AFFAIRS = "PARTY_AFFAIRS"
    VILLAGE_AFFAIRS = "VILLAGE_AFFAIRS"
    FINANCIAL_AFFAIRS = "FINANCIAL_AFFAIRS"
