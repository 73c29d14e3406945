"""Locations: coordinate systems, distances and geofence decisions.

Phones report WGS-84 (GPS, browsers) or GCJ-02 (Chinese map SDKs, WeChat), Baidu's
SDK reports BD-09; the platform stores WGS-84 only. GCJ-02 is a published forward
transform with no closed inverse: the inverse here iterates the forward transform
until the round trip agrees to well under a centimetre.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from models.enums import CoordinateSystem

__all__ = [
    "Fence",
    "FenceDecision",
    "bd09_to_gcj02",
    "decide",
    "distance_m",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "to_wgs84",
    "wgs84_to_gcj02",
]

EARTH_RADIUS_M = 6_371_008.8
# The Krasovsky 1940 ellipsoid that GCJ-02 is defined on.
_A = 6_378_245.0
_EE = 0.006_693_421_622_965_943_23
_BD_FACTOR = math.pi * 3000.0 / 180.0


def in_china(latitude: float, longitude: float) -> bool:
    """Inside the rough box where GCJ-02 is applied; outside it equals WGS-84."""
    return 0.8293 <= latitude <= 55.8271 and 72.004 <= longitude <= 137.8347


def _shift_lat(x: float, y: float) -> float:
    shift = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y
    shift += 0.2 * math.sqrt(abs(x))
    shift += (
        (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi))
        * 2
        / 3
    )
    shift += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    shift += (
        (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0))
        * 2
        / 3
    )
    return shift


def _shift_lng(x: float, y: float) -> float:
    shift = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    shift += (
        (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi))
        * 2
        / 3
    )
    shift += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    shift += (
        (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi))
        * 2
        / 3
    )
    return shift


def wgs84_to_gcj02(latitude: float, longitude: float) -> tuple[float, float]:
    if not in_china(latitude, longitude):
        return latitude, longitude
    d_lat = _shift_lat(longitude - 105.0, latitude - 35.0)
    d_lng = _shift_lng(longitude - 105.0, latitude - 35.0)
    rad = latitude / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lng = (d_lng * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return latitude + d_lat, longitude + d_lng


def gcj02_to_wgs84(latitude: float, longitude: float) -> tuple[float, float]:
    if not in_china(latitude, longitude):
        return latitude, longitude
    guess_lat, guess_lng = latitude, longitude
    for _ in range(30):
        shifted_lat, shifted_lng = wgs84_to_gcj02(guess_lat, guess_lng)
        error_lat, error_lng = shifted_lat - latitude, shifted_lng - longitude
        if abs(error_lat) < 1e-9 and abs(error_lng) < 1e-9:
            break
        guess_lat -= error_lat
        guess_lng -= error_lng
    return guess_lat, guess_lng


def bd09_to_gcj02(latitude: float, longitude: float) -> tuple[float, float]:
    x, y = longitude - 0.0065, latitude - 0.006
    radius = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _BD_FACTOR)
    angle = math.atan2(y, x) - 0.000003 * math.cos(x * _BD_FACTOR)
    return radius * math.sin(angle), radius * math.cos(angle)


def gcj02_to_bd09(latitude: float, longitude: float) -> tuple[float, float]:
    radius = math.sqrt(longitude**2 + latitude**2)
    radius += 0.00002 * math.sin(latitude * _BD_FACTOR)
    angle = math.atan2(latitude, longitude) + 0.000003 * math.cos(
        longitude * _BD_FACTOR
    )
    return radius * math.sin(angle) + 0.006, radius * math.cos(angle) + 0.0065


def to_wgs84(
    latitude: float, longitude: float, system: CoordinateSystem
) -> tuple[float, float]:
    """The WGS-84 position of a point reported in ``system``."""
    if system is CoordinateSystem.GCJ02:
        return gcj02_to_wgs84(latitude, longitude)
    if system is CoordinateSystem.BD09:
        return gcj02_to_wgs84(*bd09_to_gcj02(latitude, longitude))
    return latitude, longitude


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """The great-circle distance in metres (haversine, mean Earth radius)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lng2 - lng1)
    h = (
        math.sin(d_phi / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class Fence:
    """A circle around a check-in point (WGS-84)."""

    latitude: float
    longitude: float
    radius_m: float


@dataclass(frozen=True, slots=True)
class FenceDecision:
    """Whether a reported position counts as at one of the fences, and why not."""

    ok: bool
    code: str
    distance_m: float
    fence: Fence | None
    message: str


def decide(
    latitude: float,
    longitude: float,
    accuracy_m: float,
    fences: Sequence[Fence],
    max_accuracy_m: float,
) -> FenceDecision:
    """Accept a WGS-84 position inside the nearest fence, when its accuracy suffices.

    A position counts when it lies within a fence's radius (the edge included) and
    the phone's accuracy is no worse than ``max_accuracy_m``: with a poorer fix the
    point could be anywhere in a circle wider than the check-in allows.
    """
    if not fences:
        return FenceDecision(
            False, "NO_CHECK_IN_POINT", math.inf, None, "没有设置签到点。"
        )

    distances = [
        (distance_m(latitude, longitude, f.latitude, f.longitude), f) for f in fences
    ]
    distance, fence = min(distances, key=lambda pair: pair[0] - pair[1].radius_m)
    rounded = round(distance)

    if accuracy_m > max_accuracy_m:
        return FenceDecision(
            False,
            "ACCURACY_TOO_POOR",
            distance,
            fence,
            f"定位精度 {round(accuracy_m)} 米，超过允许的 {round(max_accuracy_m)} 米，"
            "请到开阔处重新定位。",
        )
    if distance > fence.radius_m:
        return FenceDecision(
            False,
            "OUTSIDE_FENCE",
            distance,
            fence,
            f"距最近签到点 {rounded} 米，超出 {round(fence.radius_m)} 米范围。",
        )
    return FenceDecision(True, "", distance, fence, "")
