"""The request screens in a real browser: a resident raises a request (with a
photo) and the property company's board shows it live; the company takes it to
resolved while the resident's view follows live; the resident rates it; the
cadre's board of the community. Every screen is screenshotted.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.e2e.conftest import PHONE, SCREEN, Opener, note, screenshot, sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

LI_MING = "13900000009"  # a resident of 新桥社区, owner at 望湖锦苑
PAN_WEI = "13900000007"  # the company managing 望湖锦苑 today
HUANG = "13900000004"  # 书记 of 新桥社区
LIVE_WITHIN = 2.0


def request_line(text: str) -> str:
    return f"li.request:has(.text:text-is('{text}'))"


async def fits(page: Any) -> bool:
    width: int = await page.evaluate("document.documentElement.scrollWidth")
    return width <= PHONE[0]


async def test_a_raised_request_reaches_the_board_live_and_is_followed_to_its_rating(
    open_page: Opener, tmp_path: Path
) -> None:
    text = f"3幢电梯异响（{int(time.time() * 1000) % 10**6}）"
    photo = tmp_path / "lift.png"
    Image.new("RGB", (64, 48), (200, 80, 40)).save(photo)

    # Given the company's board open on one phone
    board = await open_page(PHONE)
    await sign_in(board, PAN_WEI)
    await board.wait_for_selector("[data-screen='request.company'] .board[data-total]")
    assert text not in await board.inner_text("[data-screen='request.company']")

    # when a resident raises a request with a photo on another
    resident = await open_page(PHONE)
    await sign_in(resident, LI_MING)
    await resident.select_option("#request-category", label="公共维修")
    await resident.select_option("#request-place", label="望湖锦苑")
    await resident.fill("#request-text", text)
    await resident.set_input_files("#request-photos", str(photo))
    await screenshot(resident, "requests-resident-raise")
    async with resident.expect_response(
        lambda r: (
            r.request.post_data is not None
            and "serviceRequestCreate" in r.request.post_data
        )
    ):
        await resident.click("#request-form button[type=submit]")
    answered = time.monotonic()

    # then the board shows it within two seconds, without a reload
    await board.wait_for_selector(request_line(text), timeout=5_000)
    delay = time.monotonic() - answered
    assert delay < LIVE_WITHIN
    note(
        "requests-live.txt",
        f"request raised -> company board shows it: {delay:.3f} s\n",
    )
    line = board.locator(request_line(text))
    assert await line.get_attribute("data-stage") == "DISPATCHED"
    assert "照片 1 张" in await line.inner_text()
    # and the resident's photo shows as an image, through its signed URL
    image = line.locator(".photos img")
    await image.wait_for()
    assert (await image.get_attribute("src") or "").startswith("/files/")
    # (loaded lazily: when scrolled to, as a phone would)
    await image.scroll_into_view_if_needed()
    await board.wait_for_function(
        "img => img.complete && img.naturalWidth === 64",
        arg=await image.element_handle(),
    )
    await screenshot(board, "requests-company-board")

    # and the resident follows it live as the company accepts, updates, resolves
    mine = resident.locator(f"#my-requests {request_line(text)}")
    await mine.wait_for()
    assert await mine.get_attribute("data-stage") == "DISPATCHED"
    await line.locator("[data-step=accept]").click()
    await resident.wait_for_selector(
        f"#my-requests {request_line(text)}[data-stage=HANDLING]", timeout=5_000
    )
    await board.click("[data-tab=HANDLING]")
    line = board.locator(request_line(text))
    await line.locator("input[name=note]").fill("已联系电梯维保单位，明天上午检修")
    await line.locator("[data-step=update]").click()
    await resident.wait_for_function(
        "text => document.querySelector('#my-requests').innerText.includes(text)",
        arg="已联系电梯维保单位",
        timeout=5_000,
    )
    line = board.locator(request_line(text))
    await line.locator("input[name=note]").fill("已更换导轨滑靴，运行正常")
    await line.locator("[data-step=resolve]").click()
    verifying = f"#my-requests {request_line(text)}[data-stage=VERIFYING]"
    await resident.wait_for_selector(verifying, timeout=5_000)
    await screenshot(resident, "requests-resident-verifying")

    # and confirms it with a rating, which stays shown
    mine = resident.locator(verifying)
    await mine.locator("select[name=rating]").select_option("4")
    await mine.locator("input[name=comment]").fill("维修很及时")
    await mine.locator("[data-step=evaluate]").click()
    done = resident.locator(f"#my-requests {request_line(text)}[data-stage=EVALUATED]")
    await done.wait_for()
    assert await done.locator(".rating").get_attribute("data-rating") == "4"
    assert "维修很及时" in await done.inner_text()
    steps = await done.locator(".history").text_content() or ""
    for action in ("提交诉求", "派单", "接单", "进展", "办结", "评价"):
        assert action in steps
    assert await fits(resident) and await fits(board)
    assert resident.errors == [] and board.errors == []
    await screenshot(resident, "requests-resident-evaluated")


async def test_a_request_with_nothing_said_is_refused_in_chinese(
    open_page: Opener,
) -> None:
    page = await open_page(PHONE)
    await sign_in(page, LI_MING)
    await page.select_option("#request-category", label="治安隐患")
    await page.click("#request-form button[type=submit]")
    assert "请填写诉求内容" in await page.inner_text("#request-form [role=alert]")


async def test_the_resident_joins_a_small_need(open_page: Opener) -> None:
    page = await open_page(PHONE)
    await sign_in(page, LI_MING)
    needs = page.locator("[data-screen='request.resident'] ul.needs li[data-need]")
    assert await needs.count() > 0  # the demo's shared needs of 新桥社区
    first = needs.first
    need = await first.get_attribute("data-need")
    before = await first.inner_text()
    await first.locator("button").click()
    joined = page.locator(f"li[data-need='{need}']")
    await page.wait_for_function(
        "([id, before]) => document.querySelector(`li[data-need='${id}']`)"
        "?.innerText !== before",
        arg=[need, before],
    )
    assert "人附议" in await joined.inner_text()
    await screenshot(page, "requests-resident-needs")


async def test_the_cadre_s_board_of_the_community(open_page: Opener) -> None:
    page = await open_page(PHONE)
    await sign_in(page, HUANG)
    board = page.locator("[data-screen='request.cadre'] .board")
    await board.wait_for()
    assert int(await board.get_attribute("data-total") or 0) > 0
    await page.click("[data-screen='request.cadre'] [data-tab=PUBLISHED]")
    published = page.locator(
        "[data-screen='request.cadre'] li.request[data-stage=PUBLISHED]"
    )
    count = await published.count()
    assert count > 0
    first = published.first
    request = await first.get_attribute("data-request")
    await first.locator("[data-step=dispatch]").click()
    await page.wait_for_function(
        "id => !document.querySelector(`li.request[data-request='${id}']"
        "[data-stage=PUBLISHED]`)",
        arg=request,
    )
    assert await fits(page)
    assert page.errors == []
    await screenshot(page, "requests-cadre-board")


async def test_the_cockpit_panels_of_requests_and_evaluation(
    open_page: Opener,
) -> None:
    # Given the subdistrict's cockpit open on a large screen
    cockpit = await open_page(SCREEN)
    await sign_in(cockpit, "13900000003")  # 周丽华, official of 新桥街道
    await cockpit.goto("/cockpit.html")
    await cockpit.wait_for_selector("body[data-ready=cockpit]")
    await cockpit.wait_for_selector("#live[data-status=open]")
    panel = cockpit.locator("[data-panel=requests] .body")
    await cockpit.wait_for_selector(
        "[data-panel=requests][data-redraws] .body[data-total]"
    )
    before = int(await panel.get_attribute("data-total") or 0)
    assert before > 0
    assert "平均办结用时" in await panel.inner_text()
    ranking = cockpit.locator("[data-panel=evaluation] .body")
    await cockpit.wait_for_selector("[data-panel=evaluation][data-redraws]")
    assert "望湖锦苑:" in (await ranking.get_attribute("data-ranked") or "")
    assert "评价人数不足" in await ranking.inner_text()
    assert await cockpit.evaluate("document.documentElement.scrollWidth") <= SCREEN[0]
    assert await cockpit.evaluate("document.documentElement.scrollHeight") <= SCREEN[1]
    await screenshot(cockpit, "cockpit-requests-evaluation-1920")

    # when a resident raises a request, the panel counts it within two seconds
    resident = await open_page(PHONE)
    await sign_in(resident, LI_MING)
    await resident.select_option("#request-category", label="治安隐患")
    await resident.select_option("#request-place", label="新桥社区（不在小区内）")
    await resident.fill("#request-text", "河边路灯不亮，晚上很黑")
    async with resident.expect_response(
        lambda r: (
            r.request.post_data is not None
            and "serviceRequestCreate" in r.request.post_data
        )
    ):
        await resident.click("#request-form button[type=submit]")
    answered = time.monotonic()
    await cockpit.wait_for_function(
        "n => Number(document.querySelector('[data-panel=requests] .body')"
        ".dataset.total) === n",
        arg=before + 1,
        timeout=5_000,
    )
    delay = time.monotonic() - answered
    assert delay < LIVE_WITHIN
    note(
        "requests-cockpit-live.txt", f"request raised -> cockpit panel: {delay:.3f} s\n"
    )

    # and a click on a unit's bar drills down into its cockpit
    point = await cockpit.evaluate(
        """() => {
          const box = document.querySelector('[data-panel=requests] .chart');
          const chart = echarts.getInstanceByDom(box);
          const names = chart.getOption().xAxis[0].data;
          const index = names.indexOf('新桥社区');
          // The middle of the bar, whatever height the layout gives the panel.
          const stacked = chart.getOption().series.map(s => {
            const d = s.data[index];
            return Number(d && typeof d === 'object' ? d.value : d) || 0;
          });
          const top = stacked.reduce((a, b) => a + b, 0);
          const [x, y] = chart.convertToPixel({seriesIndex: 0}, [index, top / 2]);
          const rect = box.getBoundingClientRect();
          return [rect.left + x, rect.top + y];
        }"""
    )
    await cockpit.mouse.click(point[0], point[1])
    await cockpit.wait_for_function("document.title.startsWith('新桥社区')")
    await cockpit.wait_for_selector("[data-panel=requests][data-redraws]")
    assert cockpit.errors == []
    await screenshot(cockpit, "cockpit-requests-community")
