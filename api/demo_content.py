"""What the demo communities have published: disclosures, notices and news.

The two pilots get a full public page; every other community a few items, so a
scanned code never opens an empty page. Deterministic like the rest of the demo:
dates are reckoned back from ``api.demo.REFERENCE_DATE``, nothing reads the clock.
All of it is invented.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from models import OrgUnit, Post
from models.enums import DisclosureCategory, Level, PostKind

__all__ = ["demo_posts"]

D, N, W = PostKind.DISCLOSURE, PostKind.NOTICE, PostKind.NEWS
PARTY = DisclosureCategory.PARTY_AFFAIRS
VILLAGE = DisclosureCategory.VILLAGE_AFFAIRS
FINANCE = DisclosureCategory.FINANCIAL_AFFAIRS

# (days before the reference date, kind, category, title, body); {name} is the
# community's name.
_Item = tuple[int, PostKind, DisclosureCategory | None, str, str]

_URBAN_PILOT: tuple[_Item, ...] = (
    (
        2,
        N,
        None,
        "关于望湖锦苑二次供水设施检修的通知",
        "因二次供水设施年度检修，望湖锦苑1-5幢将于本周六 8:30-12:00 暂停供水。\n"
        "请各位居民提前储水。如有疑问请联系社区服务中心。",
    ),
    (
        3,
        D,
        FINANCE,
        "{name}2025年第四季度财务收支公开",
        "本季度收入：上级补助经费 18.6 万元，党群服务中心场地使用收入 1.2 万元。\n"
        "本季度支出：社区公共服务支出 9.8 万元，环境整治 4.1 万元，"
        "老年食堂运营补贴 3.2 万元。\n明细见社区公示栏，欢迎居民监督。",
    ),
    (
        5,
        W,
        None,
        "西江月小区“邻里节”温暖开幕",
        "社区联合西江月业委会、物业公司举办第三届邻里节，"
        "百家宴、义诊、旧物交换吸引三百余位居民参加。",
    ),
    (
        8,
        D,
        VILLAGE,
        "{name}老旧小区加装电梯意见征集结果公示",
        "经入户征询，望湖锦苑7幢、9幢同意率超过三分之二，"
        "已报街道审核。公示期七天，有异议请书面反映至社区居委会。",
    ),
    (
        12,
        D,
        PARTY,
        "{name}党委2025年度发展党员公示",
        "经支部大会讨论，拟接收两名同志为中共预备党员。"
        "公示期为七个工作日，党员群众可通过来信、来电反映情况。",
    ),
    (
        15,
        N,
        None,
        "冬季消防安全提醒",
        "楼道内请勿堆放杂物，电动自行车不进楼、不入户、不飞线充电。"
        "社区将于本月开展消防安全入户检查。",
    ),
    (
        20,
        W,
        None,
        "社区“红色管家”助力小区治理",
        "社区党委组织在职党员认领楼道，协调解决停车难、垃圾分类等问题二十余件。",
    ),
    (
        26,
        D,
        VILLAGE,
        "{name}2025年民生实事项目完成情况",
        "十件民生实事已完成九件：健身步道改造、老年食堂扩容、"
        "智能充电桩安装等；余下一件雨污分流工程预计明年一季度完工。",
    ),
    (
        33,
        D,
        FINANCE,
        "{name}2025年11月公益事业资金使用公示",
        "支出 2.35 万元：困难家庭慰问 1.2 万元，志愿服务保险 0.35 万元，"
        "文化活动 0.8 万元。",
    ),
    (
        40,
        N,
        None,
        "居民医保集中参保缴费开始",
        "2026年度城乡居民医保缴费截至12月31日，可通过浙里办或社区窗口办理。",
    ),
)

_VILLAGE_PILOT: tuple[_Item, ...] = (
    (
        1,
        N,
        None,
        "{name}村民代表会议通知",
        "定于下周三上午九点在村文化礼堂召开村民代表会议，"
        "议题：2026年村级集体经济发展计划、村道拓宽工程。请各位代表准时参加。",
    ),
    (
        4,
        D,
        FINANCE,
        "{name}2025年第四季度村级财务公开",
        "集体经营性收入 46.3 万元（厂房租金、农业观光园分红）；"
        "支出 31.7 万元（村道养护、保洁、困难户补助等）。\n"
        "收支明细已在村务公开栏张贴。",
    ),
    (
        6,
        D,
        VILLAGE,
        "{name}宅基地审批结果公示",
        "经村民代表会议讨论并报镇街审核，同意三户村民的建房申请。公示期十五天。",
    ),
    (
        9,
        W,
        None,
        "{name}杨梅产业合作社年终分红",
        "合作社今年销售杨梅及加工品 120 余万元，向入社农户分红 38 万元，"
        "带动 86 户增收。",
    ),
    (
        14,
        D,
        PARTY,
        "{name}党支部“五议两公开”事项：村道拓宽工程",
        "村道拓宽工程已完成党支部提议、两委联席会议商议、党员大会审议，"
        "即将提交村民代表会议决议，决议结果将另行公开。",
    ),
    (
        18,
        N,
        None,
        "农村生活垃圾分类积分兑换",
        "本月积分兑换日为25日，地点在村便民服务中心，可兑换生活用品。",
    ),
    (
        24,
        W,
        None,
        "乡贤回村共商发展",
        "五社村乡贤联谊会召开年会，乡贤们为村庄民宿和农文旅融合出谋划策。",
    ),
    (
        30,
        D,
        FINANCE,
        "{name}低保及困难救助资金发放公示",
        "本月发放最低生活保障金、临时救助金共计 3.6 万元，"
        "涉及 14 户，名单在村务公开栏公示（已隐去身份证号）。",
    ),
    (
        37,
        N,
        None,
        "防范电信诈骗提醒",
        "近期冒充医保、快递客服的诈骗电话增多，请勿透露验证码，有疑问请拨打 96110。",
    ),
)

_EVERY_COMMUNITY: tuple[_Item, ...] = (
    (
        7,
        D,
        FINANCE,
        "{name}2025年第四季度财务公开",
        "本季度收支情况已经民主理财小组审核，明细在公开栏公示，欢迎监督。",
    ),
    (
        16,
        N,
        None,
        "{name}冬季安全生产和消防检查通知",
        "本月将对出租房、沿街店铺开展消防安全检查，请配合。",
    ),
    (
        28,
        W,
        None,
        "{name}开展“邻里互助”志愿服务",
        "志愿者为辖区独居老人送去暖冬物资，并帮助检查家中用电安全。",
    ),
)

_PILOTS = {"新桥社区": _URBAN_PILOT, "五社村": _VILLAGE_PILOT}


def _published(reference: date, days: int, sequence: int) -> datetime:
    # Office hours in China Standard Time (UTC+8): 09:00 plus a little per item.
    day = reference - timedelta(days=days)
    return datetime.combine(day, time(1, sequence % 50), tzinfo=UTC)


def demo_posts(units: Iterable[OrgUnit], reference: date) -> list[Post]:
    """The posts of every community among ``units``, oldest first (ids follow)."""
    made: list[tuple[datetime, OrgUnit, _Item]] = []
    for number, unit in enumerate(u for u in units if u.level == Level.COMMUNITY):
        items = _PILOTS.get(unit.name, _EVERY_COMMUNITY)
        made.extend(
            (_published(reference, item[0], number), unit, item) for item in items
        )
    made.sort(key=lambda entry: (entry[0], entry[1].id))
    return [
        Post(
            id=index,
            unit_id=unit.id,
            unit_path=unit.path,
            kind=kind,
            category=category,
            title=title.format(name=unit.name),
            body=body.format(name=unit.name),
            published_at=at,
        )
        for index, (at, unit, (_, kind, category, title, body)) in enumerate(
            made, start=1
        )
    ]
