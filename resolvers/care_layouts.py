"""How each department's list reads: its columns and its words, as data.

A layout maps the columns of one source's export to the fields of a beneficiary
record, and the words of its category column to tags. Adding a source, or a
column a department renamed, is an edit of this table, not of the import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from models.enums import BeneficiarySource, BeneficiaryTagKind

__all__ = ["FIELDS", "LAYOUTS", "Layout"]

Kind = BeneficiaryTagKind

# The fields a layout may fill; ``id_number``, ``name`` and ``community`` are needed.
FIELDS = (
    "id_number",
    "name",
    "community",
    "address",
    "tag",
    "grade",
    "detail",
    "starts_on",
    "ends_on",
    "status",
    "carer_name",
    "carer_phone",
    "carer_status",
    "health",
)


@dataclass(frozen=True)
class Layout:
    source: BeneficiarySource
    title: str
    # field -> the column header in the department's file
    columns: Mapping[str, str]
    # Words of the ``tag`` column and the tag each means; a layout without a tag
    # column gives every row ``fixed_tag``.
    tags: Mapping[str, BeneficiaryTagKind] = field(default_factory=dict)
    fixed_tag: BeneficiaryTagKind | None = None
    # Words of the ``status`` column that mean the person has died.
    deceased: frozenset[str] = frozenset()
    # Words of the ``carer_status`` column that mean the carer is gone.
    carer_gone: frozenset[str] = frozenset()
    # Words of the ``grade`` column and the grade stored.
    grades: Mapping[str, str] = field(default_factory=dict)
    # The ID number is the first 18 characters of the column (残疾证号).
    id_prefix: bool = False

    @property
    def required(self) -> list[str]:
        needed = ["id_number", "name", "community"]
        if self.fixed_tag is None:
            needed.append("tag")
        return [self.columns[name] for name in needed]


_DISABILITY_GRADES = {
    "一级": "1",
    "二级": "2",
    "三级": "3",
    "四级": "4",
    "1": "1",
    "2": "2",
    "3": "3",
    "4": "4",
}

LAYOUTS: dict[BeneficiarySource, Layout] = {
    # 浙里救: the province's social assistance system, one row per assisted person.
    BeneficiarySource.ZHELIJIU: Layout(
        source=BeneficiarySource.ZHELIJIU,
        title="浙里救 救助对象名册",
        columns={
            "name": "姓名",
            "id_number": "身份证号码",
            "community": "所属村社",
            "address": "家庭住址",
            "tag": "救助类型",
            "detail": "保障金额",
            "starts_on": "救助开始日期",
            "ends_on": "救助结束日期",
            "status": "人员状态",
        },
        tags={
            "低保": Kind.LOW_INCOME,
            "最低生活保障": Kind.LOW_INCOME,
            "低保边缘": Kind.LOW_INCOME_EDGE,
            "低边": Kind.LOW_INCOME_EDGE,
            "特困": Kind.EXTREME_POVERTY,
            "特困供养": Kind.EXTREME_POVERTY,
            "特困人员": Kind.EXTREME_POVERTY,
        },
        deceased=frozenset({"死亡", "已死亡", "殁"}),
    ),
    # 民政: elderly living alone and children in difficulty, with their carers.
    BeneficiarySource.CIVIL_AFFAIRS: Layout(
        source=BeneficiarySource.CIVIL_AFFAIRS,
        title="民政 特殊群体名单",
        columns={
            "name": "姓名",
            "id_number": "公民身份号码",
            "community": "村(社区)",
            "address": "居住地址",
            "tag": "对象类别",
            "starts_on": "认定日期",
            "ends_on": "有效期至",
            "carer_name": "监护人/照料人",
            "carer_phone": "照料人电话",
            "carer_status": "照料人状态",
            "health": "健康状况",
            "status": "人员状态",
        },
        tags={
            "独居老人": Kind.ELDERLY_ALONE,
            "空巢独居老人": Kind.ELDERLY_ALONE,
            "困境儿童": Kind.CHILD_IN_DIFFICULTY,
            "事实无人抚养儿童": Kind.CHILD_IN_DIFFICULTY,
            "孤儿": Kind.CHILD_IN_DIFFICULTY,
        },
        deceased=frozenset({"死亡", "已死亡"}),
        carer_gone=frozenset({"死亡", "外出", "失联", "无"}),
    ),
    # 住建: housing support (public rental, rent subsidy, rebuilding unsafe houses).
    BeneficiarySource.HOUSING: Layout(
        source=BeneficiarySource.HOUSING,
        title="住建 住房保障对象",
        columns={
            "name": "户主姓名",
            "id_number": "身份证号",
            "community": "所在社区",
            "address": "房屋地址",
            "detail": "保障方式",
            "starts_on": "保障开始",
            "ends_on": "保障截止",
        },
        fixed_tag=Kind.HOUSING_SUBSIDY,
    ),
    # 残联: the second-generation disability card number is the ID number followed
    # by the category and grade digits.
    BeneficiarySource.DISABLED_FEDERATION: Layout(
        source=BeneficiarySource.DISABLED_FEDERATION,
        title="残联 持证残疾人名册",
        columns={
            "name": "姓名",
            "id_number": "残疾证号",
            "community": "村社",
            "address": "住址",
            "detail": "残疾类别",
            "grade": "残疾等级",
            "starts_on": "发证日期",
            "ends_on": "有效期至",
            "status": "证件状态",
            "carer_name": "监护人",
            "carer_phone": "监护人电话",
        },
        fixed_tag=Kind.DISABILITY,
        grades=_DISABILITY_GRADES,
        deceased=frozenset({"注销(死亡)", "注销（死亡）", "死亡"}),
        id_prefix=True,
    ),
}
