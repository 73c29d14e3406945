"""What communities publish, the community code, and the cockpit's figures.

The world (tests.world):

    district /1/            admin, official_district, company_staff (甲物业)
    ├── subdistrict A       official_a
    │   ├── community A1    cadre_a1, committee_member, resident_a1 (household a1, E1)
    │   └── community A2
    └── subdistrict B       official_b
        └── community B1    cadre_b1, resident_b1 (household b1)

Publishing in A1 is for its cadre and the officials above it (and admins); anyone
reads what is published; a withdrawn post is seen by the staff over it only.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import zxingcpp
from PIL import Image

from api.demo import load_demo
from api.events import LocalBus
from models import AuditRecord, OrgUnit, Post
from models.enums import Level, PostKind
from schema.base import encode_id
from tests.conftest import Client
from tests.test_permissions import PEOPLE, REFUSAL, ROLES
from tests.world import World

Login = Callable[[str], Awaitable[Client]]

PUBLISH = """
mutation Publish($input: PostPublishInput!) {
  postPublish(input: $input) {
    errors { field code }
    post { id kind category title body publishedAt community { name } }
  }
}
"""
WITHDRAW = """
mutation Withdraw($id: ID!) {
  postWithdraw(id: $id) { errors { field code } post { id withdrawnAt } }
}
"""
POSTS = """
query Posts($unitId: ID, $withdrawn: Boolean!) {
  posts(unitId: $unitId, includeWithdrawn: $withdrawn, first: 50) {
    totalCount edges { node { id title withdrawnAt } }
  }
}
"""
PAGE = """
query Page($code: String!) {
  communityPage(code: $code) {
    community { name }
    pagePath qrPngPath qrSvgPath posterPath viewerIsResident
    posts(first: 10) { edges { node { title kind } } }
    disclosures: posts(kind: DISCLOSURE, first: 10) { edges { node { title } } }
  }
}
"""
NODE = "query Node($id: ID!) { node(id: $id) { ... on Post { title } } }"
COCKPIT = """
query Cockpit($unitId: ID!) {
  cockpit(unitId: $unitId) {
    unit { name } communities estates households people
    below { unit { name } communities estates households people }
  }
}
"""

CAN_PUBLISH_A1 = frozenset({"admin", "official_district", "official_a", "cadre_a1"})
# Staff, but elsewhere: the schema lets them try, the jurisdiction refuses.
STAFF_ELSEWHERE = frozenset({"official_b", "cadre_b1"})


def notice(world: World, title: str = "停水通知", unit: str = "A1") -> dict[str, Any]:
    return {
        "input": {
            "communityId": encode_id("OrgUnit", world.units[unit].id),
            "kind": "NOTICE",
            "title": title,
            "body": "明日 9:00-12:00 湖景苑停水检修。",
        }
    }


async def client_of(role: str, login: Login, anonymous: Client) -> Client:
    return anonymous if role == "anonymous" else await login(role)


async def publish(login: Login, world: World, title: str = "停水通知") -> str:
    cadre = await login("cadre_a1")
    body = await cadre.query(PUBLISH, notice(world, title))
    result = body["data"]["postPublish"]
    assert result["errors"] == [], body
    return str(result["post"]["id"])


# -- publishing ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
async def test_who_publishes_in_a_community(
    role: str, login: Login, anonymous: Client, world: World
) -> None:
    # Given a caller; when they publish a notice in A1
    client = await client_of(role, login, anonymous)
    body = await client.query(PUBLISH, notice(world))

    # then only A1's cadre and the officials above it succeed; others are refused
    if role in CAN_PUBLISH_A1:
        post = body["data"]["postPublish"]["post"]
        assert post["title"] == "停水通知"
        assert post["community"]["name"] == "甲一社区"
        assert await Post.filter(title="停水通知").count() == 1
        return
    assert body["data"] is None
    expected = "FORBIDDEN" if role in STAFF_ELSEWHERE else REFUSAL[role]
    assert body["errors"][0]["extensions"]["code"] == expected
    assert not await Post.exists()


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"title": "  "}, "title", "INVALID_TITLE"),
        ({"title": "长" * 101}, "title", "INVALID_TITLE"),
        ({"body": ""}, "body", "INVALID_BODY"),
        ({"kind": "DISCLOSURE"}, "category", "CATEGORY_REQUIRED"),
        ({"category": "FINANCIAL_AFFAIRS"}, "category", "CATEGORY_NOT_ALLOWED"),
    ],
)
async def test_a_bad_post_is_refused_and_changes_nothing(
    change: dict[str, str], field: str, code: str, login: Login, world: World
) -> None:
    variables = notice(world)
    variables["input"].update(change)
    body = await (await login("cadre_a1")).query(PUBLISH, variables)
    result = body["data"]["postPublish"]
    assert result == {"errors": [{"field": field, "code": code}], "post": None}
    assert not await Post.exists()


async def test_only_communities_publish(login: Login, world: World) -> None:
    body = await (await login("official_a")).query(PUBLISH, notice(world, unit="A"))
    errors = body["data"]["postPublish"]["errors"]
    assert errors == [{"field": "communityId", "code": "NOT_A_COMMUNITY"}]
    assert not await Post.exists()


async def test_a_disclosure_keeps_its_category(login: Login, world: World) -> None:
    variables = notice(world, "2026年第一季度财务公开")
    variables["input"].update(kind="DISCLOSURE", category="FINANCIAL_AFFAIRS")
    body = await (await login("cadre_a1")).query(PUBLISH, variables)
    post = body["data"]["postPublish"]["post"]
    assert (post["kind"], post["category"]) == ("DISCLOSURE", "FINANCIAL_AFFAIRS")


async def test_publishing_is_announced_after_the_commit(
    login: Login, world: World, bus: LocalBus
) -> None:
    subscription = bus.subscribe("content", (world.units["A"].path,))
    events = aiter(subscription)
    try:
        post_id = await publish(login, world)
        event = await anext(events)
    finally:
        await subscription.close()
    assert event.kind == "POST_PUBLISHED"
    assert encode_id("Post", event.subject_id) == post_id
    assert event.unit_path == world.units["A1"].path


# -- reading ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
async def test_anyone_reads_what_is_published(
    role: str, login: Login, anonymous: Client, world: World
) -> None:
    post_id = await publish(login, world)
    client = await client_of(role, login, anonymous)

    listed = await client.query(POSTS, {"unitId": None, "withdrawn": False})
    titles = [e["node"]["title"] for e in listed["data"]["posts"]["edges"]]
    page = await client.query(PAGE, {"code": "T-A1"})
    on_page = page["data"]["communityPage"]["posts"]["edges"]
    by_id = await client.query(NODE, {"id": post_id})

    assert titles == ["停水通知"]
    assert [e["node"]["title"] for e in on_page] == ["停水通知"]
    assert by_id["data"]["node"] == {"title": "停水通知"}


STAFF_OVER_A1 = CAN_PUBLISH_A1


@pytest.mark.parametrize("role", ROLES)
async def test_a_withdrawn_post_is_seen_by_the_staff_over_it_only(
    role: str, login: Login, anonymous: Client, world: World
) -> None:
    # Given a post of A1, withdrawn by its cadre
    post_id = await publish(login, world)
    cadre = await login("cadre_a1")
    withdrawn = await cadre.query(WITHDRAW, {"id": post_id})
    assert withdrawn["data"]["postWithdraw"]["post"]["withdrawnAt"]

    # when each caller looks for it by every path
    client = await client_of(role, login, anonymous)
    listed = await client.query(POSTS, {"unitId": None, "withdrawn": True})
    edges = listed["data"]["posts"]["edges"]
    page = await client.query(PAGE, {"code": "T-A1"})
    by_id = await client.query(NODE, {"id": post_id})

    # then the staff over A1 see it with its withdrawal, nobody else sees it at all
    assert page["data"]["communityPage"]["posts"]["edges"] == []
    if role in STAFF_OVER_A1:
        assert [e["node"]["withdrawnAt"] is not None for e in edges] == [True]
        assert by_id["data"]["node"] == {"title": "停水通知"}
    else:
        assert edges == []
        assert by_id["data"]["node"] is None


@pytest.mark.parametrize("role", ROLES)
async def test_who_withdraws(
    role: str, login: Login, anonymous: Client, world: World
) -> None:
    post_id = await publish(login, world)
    client = await client_of(role, login, anonymous)
    body = await client.query(WITHDRAW, {"id": post_id})

    post = await Post.first()
    assert post is not None
    if role in CAN_PUBLISH_A1:
        assert body["data"]["postWithdraw"]["errors"] == []
        assert post.withdrawn_at is not None
        return
    assert post.withdrawn_at is None
    code = body["errors"][0]["extensions"]["code"]
    if role in STAFF_ELSEWHERE:
        # The post is public, so it is found; the jurisdiction refuses.
        assert code == "FORBIDDEN"
    else:
        assert code == REFUSAL[role]


async def test_a_withdrawn_post_cannot_be_withdrawn_again(
    login: Login, world: World
) -> None:
    post_id = await publish(login, world)
    cadre = await login("cadre_a1")
    first = await cadre.query(WITHDRAW, {"id": post_id})
    at = first["data"]["postWithdraw"]["post"]["withdrawnAt"]
    again = await (await login("official_a")).query(WITHDRAW, {"id": post_id})
    assert again["data"]["postWithdraw"] == {
        "errors": [{"field": "id", "code": "ALREADY_WITHDRAWN"}],
        "post": None,
    }
    post = await Post.first()
    assert post is not None and post.withdrawn_at is not None
    listed = await cadre.query(POSTS, {"unitId": None, "withdrawn": True})
    assert listed["data"]["posts"]["edges"][0]["node"]["withdrawnAt"] == at


async def test_posts_come_newest_first_a_page_at_a_time(
    login: Login, anonymous: Client, world: World
) -> None:
    for number in range(3):
        await publish(login, world, f"通知{number}")
    query = """
    query($after: String) { posts(first: 2, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { title } } } }
    """
    first = (await anonymous.query(query, {"after": None}))["data"]["posts"]
    cursor = first["pageInfo"]["endCursor"]
    second = (await anonymous.query(query, {"after": cursor}))["data"]["posts"]
    assert [e["node"]["title"] for e in first["edges"]] == ["通知2", "通知1"]
    assert (first["totalCount"], first["pageInfo"]["hasNextPage"]) == (3, True)
    assert [e["node"]["title"] for e in second["edges"]] == ["通知0"]
    assert second["pageInfo"]["hasNextPage"] is False


async def test_posts_under_a_unit_are_its_subtree(login: Login, world: World) -> None:
    await publish(login, world, "甲一的通知")
    official_b = await login("official_b")
    body = await official_b.query(PUBLISH, notice(world, "乙一的通知", unit="B1"))
    assert body["data"]["postPublish"]["errors"] == []

    def titles(result: dict[str, Any]) -> list[str]:
        return [e["node"]["title"] for e in result["data"]["posts"]["edges"]]

    for unit, expected in (
        ("A", ["甲一的通知"]),
        ("B1", ["乙一的通知"]),
        ("district", ["乙一的通知", "甲一的通知"]),
        ("A2", []),
    ):
        unit_id = encode_id("OrgUnit", world.units[unit].id)
        result = await official_b.query(POSTS, {"unitId": unit_id, "withdrawn": False})
        assert titles(result) == expected, unit


# -- the community page and its code ------------------------------------------------

RESIDENT_OF_A1 = frozenset({"resident_a1"})


@pytest.mark.parametrize("role", ROLES)
async def test_the_page_knows_a_resident_of_the_community(
    role: str, login: Login, anonymous: Client, world: World
) -> None:
    client = await client_of(role, login, anonymous)
    page = (await client.query(PAGE, {"code": "T-A1"}))["data"]["communityPage"]
    assert page["community"] == {"name": "甲一社区"}
    assert page["viewerIsResident"] is (role in RESIDENT_OF_A1)
    other = (await client.query(PAGE, {"code": "T-B1"}))["data"]["communityPage"]
    assert other["viewerIsResident"] is (role == "resident_b1")


@pytest.mark.parametrize("code", ["T-A", "T-district", "nope"])
async def test_only_communities_have_a_page(
    anonymous: Client, world: World, code: str
) -> None:
    body = await anonymous.query(PAGE, {"code": code})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_the_qr_code_opens_the_community_page(
    anonymous: Client, http: httpx.AsyncClient, world: World
) -> None:
    page = (await anonymous.query(PAGE, {"code": "T-A1"}))["data"]["communityPage"]
    assert page["pagePath"] == "/c/T-A1"

    png = await http.get(page["qrPngPath"])
    assert png.headers["content-type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert [code.text for code in decoded] == ["http://test/c/T-A1"]

    svg = await http.get(page["qrSvgPath"])
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.lstrip().startswith("<?xml") and "<svg" in svg.text

    html = await http.get(page["pagePath"])
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]


async def test_the_poster_names_the_community(
    http: httpx.AsyncClient, world: World
) -> None:
    poster = await http.get("/c/T-A1/poster")
    assert poster.status_code == 200
    assert "甲一社区" in poster.text and "甲街道" in poster.text
    assert "size: A4" in poster.text and "<svg" in poster.text
    assert "http://test/c/T-A1" in poster.text


@pytest.mark.parametrize(
    "path", ["/c/nope", "/c/T-A/qr.png", "/c/T-A/qr.svg", "/c/T-district/poster"]
)
async def test_no_code_for_what_is_not_a_community(
    http: httpx.AsyncClient, world: World, path: str
) -> None:
    assert (await http.get(path)).status_code == 404


async def test_the_poster_escapes_the_name(
    http: httpx.AsyncClient, world: World
) -> None:
    unit = world.units["A2"]
    unit.name = "<b>甲二村</b>"
    await unit.save(update_fields=["name"])
    poster = await http.get("/c/T-A2/poster")
    assert "<b>" not in poster.text and "&lt;b&gt;甲二村" in poster.text


# -- the cockpit ----------------------------------------------------------------------

# The units whose cockpit each caller may open.
COCKPITS: dict[str, frozenset[str]] = {
    "admin": frozenset({"district", "A", "B", "A1", "B1"}),
    "official_district": frozenset({"district", "A", "B", "A1", "B1"}),
    "official_a": frozenset({"A", "A1"}),
    "official_b": frozenset({"B", "B1"}),
    "cadre_a1": frozenset({"A1"}),
    "cadre_b1": frozenset({"B1"}),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("unit", ["district", "A", "B", "A1", "B1"])
async def test_who_opens_which_cockpit(
    role: str, unit: str, login: Login, anonymous: Client, world: World
) -> None:
    client = await client_of(role, login, anonymous)
    unit_id = encode_id("OrgUnit", world.units[unit].id)
    body = await client.query(COCKPIT, {"unitId": unit_id})
    if unit in COCKPITS.get(role, frozenset()):
        assert body["data"]["cockpit"]["unit"]["name"] == world.units[unit].name
        return
    assert body["data"] is None
    expected = "FORBIDDEN" if role in COCKPITS else REFUSAL[role]
    assert body["errors"][0]["extensions"]["code"] == expected


async def test_the_cockpit_counts_what_lies_below(login: Login, world: World) -> None:
    unit_id = encode_id("OrgUnit", world.units["district"].id)
    body = await (await login("official_district")).query(COCKPIT, {"unitId": unit_id})
    cockpit = body["data"]["cockpit"]

    def figures(row: dict[str, Any]) -> tuple[int, ...]:
        return tuple(row[k] for k in ("communities", "estates", "households", "people"))

    assert figures(cockpit) == (3, 3, 2, 2)
    below = {b["unit"]["name"]: b for b in cockpit["below"]}
    assert list(below) == ["甲街道", "乙街道"]
    assert figures(below["甲街道"]) == (2, 2, 1, 1)
    assert figures(below["乙街道"]) == (1, 1, 1, 1)


async def test_the_cockpit_costs_the_same_statements_at_every_level(
    login: Login, world: World, statements: Callable[[], Any]
) -> None:
    official = await login("official_district")
    counts = []
    for unit in ("district", "A1"):
        unit_id = encode_id("OrgUnit", world.units[unit].id)
        with statements() as seen:
            body = await official.query(COCKPIT, {"unitId": unit_id})
        assert "errors" not in body
        counts.append(len(seen))
    assert counts[0] == counts[1]


def test_every_role_of_the_world_is_in_the_tables() -> None:
    assert set(PEOPLE) == set(COCKPITS) | {
        "company_staff",
        "committee_member",
        "resident_a1",
        "resident_b1",
    }
    assert PostKind.DISCLOSURE.value == "DISCLOSURE"


async def test_publishing_and_withdrawing_are_audited(
    login: Login, world: World
) -> None:
    post_id = await publish(login, world)
    cadre = await login("cadre_a1")
    await cadre.query(WITHDRAW, {"id": post_id})
    pk = (await Post.get(title="停水通知")).id
    records = await AuditRecord.filter(subject_type="Post").order_by("id")
    assert [(r.action, r.subject_ids, r.role) for r in records] == [
        ("POST_PUBLISH", [pk], "CADRE"),
        ("POST_WITHDRAW", [pk], "CADRE"),
    ]
    assert all(r.unit_path == world.units["A1"].path for r in records)


async def test_the_demo_communities_have_published(db: str) -> None:
    # Given the small demo
    await load_demo("small")
    posts = await Post.all().order_by("id").values("id", "unit_id", "title")
    communities = await OrgUnit.filter(
        level=Level.COMMUNITY, code__startswith="330304"
    ).values_list("id", "name")

    by_unit: dict[int, int] = {}
    for post in posts:
        by_unit[post["unit_id"]] = by_unit.get(post["unit_id"], 0) + 1
    names = dict(communities)
    # then every Ouhai community has a page, the pilots a full one
    assert set(by_unit) == set(names)
    counts = {names[unit]: count for unit, count in by_unit.items()}
    assert counts["新桥社区"] == 10 and counts["五社村"] == 9
    assert all(count >= 3 for count in counts.values())
    assert [p["id"] for p in posts] == list(range(1, len(posts) + 1))
