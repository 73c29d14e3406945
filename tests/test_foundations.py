"""The shared mechanisms under the domains: locations, ID numbers, tables."""

from __future__ import annotations

import io
import math
from datetime import date

import pytest
from openpyxl import Workbook

from models.enums import CoordinateSystem
from resolvers.base import Invalid
from resolvers.geo import (
    Fence,
    bd09_to_gcj02,
    decide,
    distance_m,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_gcj02,
)
from resolvers.idnumber import (
    IdNumberError,
    check_digit,
    id_fingerprint,
    parse_id_number,
)
from resolvers.tabular import read_table

# Tiananmen's flagpole: its WGS-84 position, and that position as GCJ-02 maps
# show it (the published offset there is about 0.0014° north, 0.0062° east).
TIANANMEN_WGS84 = (39.908692, 116.397477)
TIANANMEN_GCJ02 = (39.910096, 116.403719)


def test_wgs84_to_gcj02_matches_the_known_offset_at_tiananmen() -> None:
    lat, lng = wgs84_to_gcj02(*TIANANMEN_WGS84)
    assert distance_m(lat, lng, *TIANANMEN_GCJ02) < 1.0


def test_gcj02_to_wgs84_inverts_the_forward_transform_to_a_centimetre() -> None:
    for point in [(27.994, 120.699), (30.25, 120.17), (22.54, 114.06)]:
        back = gcj02_to_wgs84(*wgs84_to_gcj02(*point))
        assert distance_m(*back, *point) < 0.01


def test_outside_china_gcj02_is_wgs84() -> None:
    assert wgs84_to_gcj02(48.8584, 2.2945) == (48.8584, 2.2945)


def test_to_wgs84_for_each_system() -> None:
    gcj = wgs84_to_gcj02(*TIANANMEN_WGS84)
    assert to_wgs84(*TIANANMEN_WGS84, CoordinateSystem.WGS84) == TIANANMEN_WGS84
    assert distance_m(*to_wgs84(*gcj, CoordinateSystem.GCJ02), *TIANANMEN_WGS84) < 0.01
    # BD-09 lies about a kilometre off GCJ-02 and its inverse is approximate
    # (published to within a metre): the round trip must stay within that.
    bd = gcj02_to_bd09(*TIANANMEN_GCJ02)
    assert 500 < distance_m(*bd, *TIANANMEN_GCJ02) < 1500
    assert distance_m(*bd09_to_gcj02(*bd), *TIANANMEN_GCJ02) < 1.0
    back = to_wgs84(*bd, CoordinateSystem.BD09)
    assert distance_m(*back, *TIANANMEN_WGS84) < 2.0


def test_distance_of_one_degree_of_latitude() -> None:
    assert math.isclose(distance_m(0, 0, 1, 0), 111_195, rel_tol=1e-3)


def test_decide_accepts_the_radius_edge_and_refuses_just_beyond_it() -> None:
    fence = Fence(28.0, 120.7, 50.0)
    # A point due north, at exactly the fence's radius, then a metre beyond it.
    per_metre = 1 / 111_195
    edge = decide(28.0 + 49.99 * per_metre, 120.7, 10, [fence], 30)
    beyond = decide(28.0 + 51 * per_metre, 120.7, 10, [fence], 30)
    assert edge.ok
    assert not beyond.ok
    assert beyond.code == "OUTSIDE_FENCE"
    assert round(beyond.distance_m) == 51
    assert "51 米" in beyond.message


def test_decide_refuses_a_fix_too_poor_to_tell_and_picks_the_nearest_fence() -> None:
    near, far = Fence(28.0, 120.7, 50.0), Fence(28.1, 120.7, 50.0)
    poor = decide(28.0, 120.7, 80, [far, near], 30)
    assert poor.code == "ACCURACY_TOO_POOR"
    assert decide(28.1, 120.7, 5, [near, far], 30).fence == far
    assert decide(28.0, 120.7, 5, [], 30).code == "NO_CHECK_IN_POINT"


def test_id_number_of_the_standard_example() -> None:
    number = parse_id_number("11010519491231002x", today=date(2026, 1, 1))
    assert number.number == "11010519491231002X"
    assert number.birth_date == date(1949, 12, 31)
    assert number.gender == "FEMALE"
    assert check_digit("11010519491231002") == "X"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("1101051949123100", "ID_NUMBER_FORMAT"),
        ("01010519491231002X", "ID_NUMBER_FORMAT"),
        ("11010519491331002X", "ID_NUMBER_DATE"),
        ("11010520991231002X", "ID_NUMBER_DATE"),
        ("110105194912310021", "ID_NUMBER_CHECK_DIGIT"),
    ],
)
def test_invalid_id_numbers_say_why(text: str, code: str) -> None:
    with pytest.raises(IdNumberError) as raised:
        parse_id_number(text, today=date(2026, 1, 1))
    assert raised.value.code == code


def test_fingerprints_match_equal_numbers_under_one_key_only() -> None:
    a = id_fingerprint("11010519491231002X", b"k" * 32)
    assert a == id_fingerprint(" 11010519491231002x", b"k" * 32)
    assert a != id_fingerprint("11010519491231002X", b"j" * 32)
    assert "11010519491231002X" not in a


def test_a_gbk_csv_reads_with_row_numbers_as_in_the_sheet() -> None:
    data = "姓名,身份证号\n张三,110105194912310021\n\n李四,\n".encode("gb18030")
    table = read_table(data, "名单.csv")
    assert table.headers == ["姓名", "身份证号"]
    assert table.total == 2
    assert list(table.rows) == [
        (2, {"姓名": "张三", "身份证号": "110105194912310021"}),
        (4, {"姓名": "李四", "身份证号": ""}),
    ]


def test_an_xlsx_reads_numbers_as_the_digits_shown() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["证书号", "面积"])
    sheet.append([2024001234.0, 89.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    table = read_table(buffer.getvalue(), "register.xlsx")
    assert list(table.rows) == [(2, {"证书号": "2024001234", "面积": "89.5"})]


def test_a_table_missing_columns_is_refused_naming_them() -> None:
    table = read_table("姓名\n张三\n".encode(), "a.csv")
    with pytest.raises(Invalid) as raised:
        table.require(["姓名", "身份证号", "证件类型"])
    [error] = raised.value.errors
    assert error.code == "MISSING_COLUMNS"
    assert "身份证号、证件类型" in error.message


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"", "a.csv", "FILE_UNREADABLE"),
        (b"\n\n", "a.csv", "NO_HEADER"),
        (b"PK\x03\x04broken", "a.xlsx", "FILE_UNREADABLE"),
    ],
)
def test_unreadable_files_are_refused(data: bytes, name: str, code: str) -> None:
    with pytest.raises(Invalid) as raised:
        read_table(data, name)
    assert raised.value.errors[0].code == code
