"""The estate screens in a real browser: a resident claims a property (a mismatch
is said plainly, a match shows the verified property), rates their estate in the
open round and sees the rating; the property company's and the owners'
committee's scores (with "评价人数不足" where too few owners rated) and their
three-party duty items, a check recorded with a photo. Every screen is
screenshotted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.e2e.conftest import PASSWORD, PHONE, Opener, screenshot, sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

ADMIN = "13900000001"
PAN_WEI = "13900000007"  # the company managing 望湖锦苑 today
XU_JING = "13900000008"  # chair of 望湖锦苑's owners' committee
LI_MING = "13900000009"  # a verified owner at 望湖锦苑
CERTIFICATE = "浙(2026)温州市不动产权第9990001号"
# A well-formed ID number (its check digit holds) that is not 李明's.
SOMEONE_ELSE = "330304196005010028"
PEOPLE = """{ people(search: "李明", first: 5) {
  edges { node { phone idNumber } } } }"""
COLUMNS = "不动产权证号,房号,权利人,身份证号"


async def sign_in_api(client: httpx.AsyncClient, phone: str) -> str:
    body = (
        await client.post(
            "/graphql",
            json={
                "query": "mutation($p: String!, $w: String!) { authLogin(phone: $p, "
                "password: $w) { accessToken } }",
                "variables": {"p": phone, "w": PASSWORD},
            },
        )
    ).json()
    token: str = body["data"]["authLogin"]["accessToken"]
    return token


async def query(
    client: httpx.AsyncClient, token: str, document: str, **variables: Any
) -> dict[str, Any]:
    body = (
        await client.post(
            "/graphql",
            json={"query": document, "variables": variables},
            headers={"authorization": f"Bearer {token}"},
        )
    ).json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def register_a_second_property_of_li_ming(server: str) -> None:
    """The register of 望湖锦苑 gains a line for 李明 (imported by the admin), for
    him to claim in the browser."""
    async with httpx.AsyncClient(base_url=server) as client:
        admin = await sign_in_api(client, ADMIN)
        resident = await sign_in_api(client, LI_MING)
        owned = await query(
            client, resident, "{ myPropertyOwnerships { estate { id name } } }"
        )
        estate = next(
            o["estate"]["id"]
            for o in owned["myPropertyOwnerships"]
            if o["estate"]["name"] == "望湖锦苑"
        )
        found = await query(
            client,
            admin,
            PEOPLE,
        )
        id_number = next(
            e["node"]["idNumber"]
            for e in found["people"]["edges"]
            if e["node"]["phone"] == LI_MING
        )
        register = (f"{COLUMNS}\n{CERTIFICATE},8幢 101室,李明,{id_number}\n").encode()
        operations = {
            "query": "mutation($file: Upload!) { fileUpload(file: $file) "
            "{ errors { code } file { id } } }",
            "variables": {"file": None},
        }
        uploaded = (
            await client.post(
                "/graphql",
                data={
                    "operations": json.dumps(operations),
                    "map": json.dumps({"0": ["variables.file"]}),
                },
                files={"0": ("register.csv", register, "text/csv")},
                headers={
                    "authorization": f"Bearer {admin}",
                    "Apollo-Require-Preflight": "true",
                },
            )
        ).json()
        file_id = uploaded["data"]["fileUpload"]["file"]["id"]
        imported = await query(
            client,
            admin,
            "mutation($e: ID!, $f: ID!) { propertyRegisterImport(estateId: $e, "
            "fileId: $f) { errors { code } importRun { status counts } } }",
            e=estate,
            f=file_id,
        )
        run = imported["propertyRegisterImport"]
        assert run["errors"] == [] and run["importRun"]["counts"] == {"TAKEN": 1}, run


async def test_a_resident_claims_a_property(open_page: Opener, server: str) -> None:
    await register_a_second_property_of_li_ming(server)
    page = await open_page(PHONE)
    await sign_in(page, LI_MING)
    properties = page.locator("#my-properties")
    assert "望湖锦苑 3幢 1202室" in await properties.inner_text()
    assert CERTIFICATE not in await properties.inner_text()
    await page.click(".claim-box summary")

    # A malformed ID number, then somebody else's: each said plainly
    await page.fill("#claim-certificate", CERTIFICATE)
    await page.fill("#claim-id", "33030419600501")
    await page.click("#claim-form button[type=submit]")
    await page.wait_for_selector("#claim-message:has-text('身份证号应为18位')")
    await page.fill("#claim-id", SOMEONE_ELSE)
    await page.click("#claim-form button[type=submit]")
    await page.wait_for_selector("#claim-message:has-text('证号与身份证号不匹配')")
    await screenshot(page, "estates-claim-mismatch")
    assert CERTIFICATE not in await properties.inner_text()

    # his own: the property shows verified
    async with httpx.AsyncClient(base_url=server) as client:
        admin = await sign_in_api(client, ADMIN)
        found = await query(
            client,
            admin,
            PEOPLE,
        )
    id_number = next(
        e["node"]["idNumber"]
        for e in found["people"]["edges"]
        if e["node"]["phone"] == LI_MING
    )
    await page.fill("#claim-id", id_number)
    await page.click("#claim-form button[type=submit]")
    await page.wait_for_selector(f"#my-properties li:has-text('{CERTIFICATE}')")
    assert "已认证" in await page.inner_text(
        f"#my-properties li:has-text('{CERTIFICATE}')"
    )
    assert page.errors == []
    await screenshot(page, "estates-claim-verified")


async def test_a_rating_submitted_shows_in_the_resident_s_view(
    open_page: Opener,
) -> None:
    page = await open_page(PHONE)
    await sign_in(page, LI_MING)
    screen = page.locator("[data-screen='evaluation.rate']")
    assert "2026-H2" in await screen.inner_text()
    await screen.locator("summary:has-text('为物业服务打分')").click()
    form = screen.locator("form[data-rate=PROPERTY_SERVICE]")
    answers = form.locator("select")
    assert await answers.count() == 4  # the questionnaire's property questions
    # An unanswered question is said, and nothing is sent
    await form.locator("button[type=submit]").click()
    assert "请回答每一道题" in await form.locator("[role=alert]").inner_text()
    for index, value in enumerate(("5", "4", "4", "3")):
        await answers.nth(index).select_option(value)
    await form.locator("input[name=comment]").fill("保洁比上半年好")
    await screenshot(page, "estates-rate-form")
    await form.locator("button[type=submit]").click()

    rated = screen.locator("[data-rated=PROPERTY_SERVICE]")
    await rated.wait_for()
    # (5·3 + 4·3 + 4·2 + 3·2) / 10 × 20 = 82
    assert "已评价物业服务：82 分" in await rated.inner_text()
    await page.reload()
    await page.wait_for_selector("[data-rated=PROPERTY_SERVICE]")
    assert page.errors == []
    await screenshot(page, "estates-rated")


async def test_the_company_sees_its_scores_and_records_a_duty_check_with_a_photo(
    open_page: Opener, tmp_path: Path
) -> None:
    photo = tmp_path / "hall.jpg"
    Image.new("RGB", (80, 60), (90, 160, 90)).save(photo)
    page = await open_page(PHONE)
    await sign_in(page, PAN_WEI)
    scores = page.locator("[data-screen='evaluation.company']")
    text = await scores.inner_text()
    assert "77.73" in text  # 望湖锦苑's closed 2026-H1 round
    assert "评价人数不足" in text  # the open rounds, too few owners yet
    assert "业主：9 人评价" in text
    await screenshot(page, "estates-company-home")

    duties = page.locator("[data-screen='coordination.company']")
    item = duties.locator("[data-estate] li[data-duty-item]").first
    await item.locator("input[name=note]").fill("本周楼道保洁已完成")
    await item.locator("input[name=evidence]").set_input_files(str(photo))
    await item.locator("button[type=submit]").click()
    await page.wait_for_selector(
        "[data-screen='coordination.company'] li[data-duty-item]"
        ":has-text('本周楼道保洁已完成'):has-text('附照片')",
        timeout=5_000,
    )
    assert page.errors == []
    await screenshot(page, "estates-company-duty-checked")


async def test_the_owners_committee_sees_its_score_and_duties(
    open_page: Opener,
) -> None:
    page = await open_page(PHONE)
    await sign_in(page, XU_JING)
    assert await page.get_attribute("[data-home]", "data-home") == "OWNERS_COMMITTEE"
    scores = await page.inner_text("[data-screen='evaluation.committee']")
    assert "85.47" in scores and "业委会" in scores
    duties = await page.inner_text("[data-screen='coordination.committee']")
    assert "业委会履职" in duties and "望湖锦苑" in duties
    assert page.errors == []
    await screenshot(page, "estates-committee-home")


@pytest.mark.parametrize(
    ("who", "phone"),
    [("resident", LI_MING), ("company", PAN_WEI), ("committee", XU_JING)],
)
async def test_the_screens_fit_a_phone_in_large_type_and_high_contrast(
    who: str, phone: str, open_page: Opener
) -> None:
    page = await open_page(PHONE)
    await sign_in(page, phone)
    await page.evaluate(
        "localStorage.setItem('yunshang.prefs', "
        "JSON.stringify({large: true, contrast: true}))"
    )
    await page.reload()
    await page.wait_for_selector("[data-home]")
    classes = await page.evaluate("document.documentElement.className")
    assert "large" in classes and "contrast" in classes
    width: int = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE[0]
    assert page.errors == []
    await screenshot(page, f"estates-large-contrast-{who}")


HUANG = "13900000004"  # 书记 of 新桥社区, where 望湖锦苑 is
ZHOU = "13900000003"  # official of 新桥街道


async def test_a_cadre_imports_a_register_and_reads_what_became_of_each_line(
    open_page: Opener,
) -> None:
    # A new line, and one whose ID number has a wrong check digit
    content = "\n".join(
        [
            COLUMNS,
            "浙(2026)温州市不动产权第9990101号,9幢 101室,新业主,330304196005010028",
            "浙(2026)温州市不动产权第9990102号,9幢 102室,错号码,330304196005010029",
        ]
    ).encode("utf-8-sig")
    page = await open_page(PHONE)
    await sign_in(page, HUANG)
    screen = page.locator('[data-screen="imports.register"]')
    await screen.locator("#register-estate").select_option(label="望湖锦苑")
    await screen.locator("#register-import-file").set_input_files(
        {"name": "登记簿.csv", "mimeType": "text/csv", "buffer": content}
    )
    await screen.locator("#register-import button[type=submit]").click()

    result = screen.locator(".import-result")
    await result.wait_for()
    assert "共 2 行：新增 1 · 未导入 1" in await result.inner_text()
    refused = result.locator("li[data-row='3']")
    assert "身份证号校验位不符" in await refused.inner_text()
    await screen.locator(".import-history li:has-text('登记簿.csv')").wait_for()
    assert page.errors == []
    await screenshot(page, "imports-register")


async def test_an_official_has_the_list_import_of_their_unit(
    open_page: Opener,
) -> None:
    page = await open_page(PHONE)
    await sign_in(page, ZHOU)
    screen = page.locator('[data-screen="imports.beneficiaries"]')
    assert "导入到 新桥街道" in await screen.inner_text()
    sources = await screen.locator("#beneficiary-source option").all_inner_texts()
    assert sources == ["浙里救", "民政", "住建", "残联"]
    # Without a file the form says so and sends nothing
    await screen.locator("#beneficiary-import button[type=submit]").click()
    assert "请选择文件" in await screen.locator("[role=alert]").inner_text()
    assert page.errors == []
