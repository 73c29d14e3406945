"""Locations as clients send them: a position, its accuracy, its coordinate system."""

from __future__ import annotations

import math

import strawberry

from models.enums import CoordinateSystem
from resolvers.base import UserError
from resolvers.geo import to_wgs84

__all__ = ["CoordinateSystemType", "LocationInput", "location_errors", "wgs84_of"]

CoordinateSystemType = strawberry.enum(
    CoordinateSystem,
    description=(
        "How a position is expressed: WGS84 (GPS, browsers), GCJ02 (Chinese map SDKs "
        "and WeChat), BD09 (Baidu). Stored positions are always WGS-84."
    ),
)


@strawberry.input(description="A position reported by a phone.")
class LocationInput:
    latitude: float = strawberry.field(description="Degrees north, -90 to 90.")
    longitude: float = strawberry.field(description="Degrees east, -180 to 180.")
    accuracy: float = strawberry.field(
        description="The phone's accuracy radius in metres (its 68% circle)."
    )
    system: CoordinateSystemType = strawberry.field(  # type: ignore[valid-type]
        default=CoordinateSystem.WGS84,
        description="The coordinate system of latitude and longitude.",
    )


def location_errors(
    location: LocationInput, field: str = "location"
) -> list[UserError]:
    """What is wrong with a reported position, before anything is decided on it."""
    values = (location.latitude, location.longitude, location.accuracy)
    if not all(math.isfinite(v) for v in values):
        return [UserError(field, "定位数据无效。", "LOCATION_INVALID")]
    errors = []
    if not -90 <= location.latitude <= 90:
        errors.append(
            UserError(
                f"{field}.latitude", "纬度应在 -90 到 90 之间。", "LATITUDE_RANGE"
            )
        )
    if not -180 <= location.longitude <= 180:
        errors.append(
            UserError(
                f"{field}.longitude", "经度应在 -180 到 180 之间。", "LONGITUDE_RANGE"
            )
        )
    if location.accuracy < 0:
        errors.append(
            UserError(f"{field}.accuracy", "定位精度不能为负数。", "ACCURACY_RANGE")
        )
    return errors


def wgs84_of(location: LocationInput) -> tuple[float, float]:
    return to_wgs84(
        location.latitude, location.longitude, CoordinateSystem(location.system)
    )
