"""Writes the sample department files of tests/data (run by hand; output committed).

Every person and number is invented. The ID numbers carry valid check digits
(except the rows meant to be refused); the communities are those of tests.world.

    .venv/bin/python tests/data/make_samples.py
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECKS = "10X98765432"


def number(born: str, sequence: str) -> str:
    body = f"330304{born}{sequence}"
    total = sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True))
    return body + CHECKS[total % 11]


def wrong(valid: str) -> str:
    last = "0" if valid[-1] != "0" else "1"
    return valid[:-1] + last


WANG = number("19410312", "024")  # 王秀英, F
CHEN = number("19580707", "013")  # 陈建国, M
LIN = number("20150920", "046")  # 林小雨, F, a child
ZHOU = "330304196005010028"  # 周美华: the world's resident_a1
HUANG = number("19350101", "031")  # 黄德明, M, deceased
WU = number("19800215", "062")  # 吴丽娟, F
ZHENG = number("19650505", "017")  # 郑志强, M, in 乙一社区

SOURCES: dict[str, tuple[list[str], list[list[str]]]] = {
    "zhelijiu": (
        [
            "序号",
            "姓名",
            "身份证号码",
            "所属村社",
            "家庭住址",
            "救助类型",
            "保障金额",
            "救助开始日期",
            "救助结束日期",
            "人员状态",
        ],
        [
            [
                "1",
                "王秀英",
                WANG,
                "甲一社区",
                "湖景苑 2幢 301室",
                "特困供养",
                "1280",
                "2023-01-01",
                "",
                "正常",
            ],
            [
                "2",
                "陈建国",
                CHEN,
                "甲一社区",
                "湖景苑 5幢 102室",
                "低保",
                "986",
                "2024/3/1",
                "2026/12/31",
                "正常",
            ],
            [
                "3",
                "周美华",
                ZHOU,
                "甲一社区",
                "湖景苑 1幢 101室",
                "低保边缘",
                "420",
                "2025-07-01",
                "",
                "正常",
            ],
            [
                "4",
                "黄德明",
                HUANG,
                "甲二村",
                "甲二村 36号",
                "特困",
                "1280",
                "2019-05-01",
                "",
                "死亡",
            ],
            [
                "5",
                "错号码",
                wrong(CHEN),
                "甲一社区",
                "湖景苑 9幢",
                "低保",
                "986",
                "2024-01-01",
                "",
                "正常",
            ],
            [
                "6",
                "王秀英",
                WANG,
                "甲一社区",
                "湖景苑 2幢 301室",
                "特困供养",
                "1280",
                "2023-01-01",
                "",
                "正常",
            ],
            [
                "7",
                "无类别",
                number("19700101", "051"),
                "甲一社区",
                "",
                "五保",
                "",
                "",
                "",
                "正常",
            ],
        ],
    ),
    "civil_affairs": (
        [
            "姓名",
            "公民身份号码",
            "村(社区)",
            "居住地址",
            "对象类别",
            "认定日期",
            "有效期至",
            "监护人/照料人",
            "照料人电话",
            "照料人状态",
            "健康状况",
            "人员状态",
        ],
        [
            [
                "王秀英",
                WANG,
                "甲一社区",
                "湖景苑 2幢 301室",
                "独居老人",
                "2022-06-01",
                "",
                "王建军",
                "13705770011",
                "在",
                "高血压，行动不便",
                "正常",
            ],
            [
                "林小雨",
                LIN,
                "甲二村",
                "甲二村 12号",
                "困境儿童",
                "2024-09-01",
                "2027-09-01",
                "林国平",
                "13605770022",
                "外出",
                "先天性心脏病",
                "正常",
            ],
            [
                "不存在",
                number("19450303", "077"),
                "丙三社区",
                "",
                "独居老人",
                "",
                "",
                "",
                "",
                "",
                "",
                "正常",
            ],
            [
                "日期错",
                number("19480808", "084"),
                "甲一社区",
                "",
                "独居老人",
                "2024-13-01",
                "",
                "",
                "",
                "",
                "",
                "正常",
            ],
        ],
    ),
    "housing": (
        [
            "户主姓名",
            "身份证号",
            "所在社区",
            "房屋地址",
            "保障方式",
            "保障开始",
            "保障截止",
        ],
        [
            [
                "陈建国",
                CHEN,
                "甲一社区",
                "湖景苑 5幢 102室",
                "公租房",
                "2023-01-01",
                "2027-12-31",
            ],
            [
                "吴丽娟",
                WU,
                "甲一社区",
                "江月苑 2幢 202室",
                "租赁补贴",
                "2024-01-01",
                "2025-12-31",
            ],
            ["短号码", "33030419800215", "甲一社区", "", "租赁补贴", "", ""],
        ],
    ),
    "disabled_federation": (
        [
            "姓名",
            "残疾证号",
            "村社",
            "住址",
            "残疾类别",
            "残疾等级",
            "发证日期",
            "有效期至",
            "证件状态",
            "监护人",
            "监护人电话",
        ],
        [
            [
                "周美华",
                ZHOU + "42",
                "甲一社区",
                "湖景苑 1幢 101室",
                "肢体",
                "二级",
                "2021-04-01",
                "2031-04-01",
                "正常",
                "",
                "",
            ],
            [
                "郑志强",
                ZHENG + "61",
                "乙一社区",
                "乙一社区 8号",
                "精神",
                "一级",
                "2020-10-10",
                "2030-10-10",
                "正常",
                "郑小红",
                "13805770033",
            ],
            [
                "等级错",
                number("19720202", "098") + "45",
                "乙一社区",
                "",
                "肢体",
                "五级",
                "",
                "",
                "正常",
                "",
                "",
            ],
        ],
    ),
}


def write_csv(
    path: Path, headers: list[str], rows: list[list[str]], encoding: str
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))


def write_xlsx(path: Path, headers: list[str], rows: list[list[str]]) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "名册"
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    book.save(path)


def main() -> None:
    for name, (headers, rows) in SOURCES.items():
        # 民政 sends CSV as Chinese Excel saves it (GB18030); the others UTF-8 + BOM.
        encoding = "gb18030" if name == "civil_affairs" else "utf-8-sig"
        write_csv(HERE / f"{name}.csv", headers, rows, encoding)
        write_xlsx(HERE / f"{name}.xlsx", headers, rows)


if __name__ == "__main__":
    main()
