"""One village, one code (一村一码): each community's QR code, poster and page.

``/c/{code}`` is the community's public page (a static page of the mini-app that
reads the rest over GraphQL); ``qr.png`` and ``qr.svg`` encode that page's full
address; ``poster`` is an A4 page to print and put up, with the community's name.
The address is built from the request, so behind a proxy run uvicorn with its
proxy headers on (``--forwarded-allow-ips``) to encode the public host.
"""

from __future__ import annotations

import io
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from models import OrgUnit
from permissions.caller import ANONYMOUS
from permissions.errors import NotFound
from permissions.scope import visible
from resolvers.content import community_by_code

if TYPE_CHECKING:
    import segno

__all__ = ["qr_code", "routes"]

FRONTENDS = Path(__file__).resolve().parent.parent / "frontends"
PAGE = FRONTENDS / "community.html"
CACHE = {"cache-control": "public, max-age=3600"}
NOT_FOUND = (
    "<!doctype html><meta charset=utf-8><title>未找到</title><p>没有这个村社码。</p>"
)


def qr_code(url: str) -> segno.QRCode:
    # Loaded by the first code drawn, not by every worker at start (about 9 MiB).
    import segno

    # Level M survives a crease or a smudge on a printed poster.
    return segno.make(url, error="m", micro=False)


def page_url(request: Request, code: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/c/{code}"


async def _community(request: Request) -> OrgUnit | None:
    # The code and the poster are public: looked up as anyone would see them.
    try:
        return await community_by_code(ANONYMOUS, request.path_params["code"])
    except NotFound:
        return None


async def community_page(request: Request) -> Response:
    if await _community(request) is None:
        return HTMLResponse(NOT_FOUND, 404)
    return FileResponse(PAGE, media_type="text/html")


async def qr_png(request: Request) -> Response:
    unit = await _community(request)
    if unit is None:
        return Response(status_code=404)
    out = io.BytesIO()
    qr_code(page_url(request, unit.code)).save(out, kind="png", scale=10, border=4)
    return Response(out.getvalue(), media_type="image/png", headers=CACHE)


async def qr_svg(request: Request) -> Response:
    unit = await _community(request)
    if unit is None:
        return Response(status_code=404)
    svg = _svg(page_url(request, unit.code), xmldecl=True)
    return Response(svg, media_type="image/svg+xml", headers=CACHE)


def _svg(url: str, xmldecl: bool = False) -> str:
    out = io.BytesIO()
    qr_code(url).save(
        out, kind="svg", scale=10, border=4, xmldecl=xmldecl, svgns=True, unit="px"
    )
    return out.getvalue().decode()


async def poster(request: Request) -> Response:
    unit = await _community(request)
    if unit is None:
        return HTMLResponse(NOT_FOUND, 404)
    parent = (
        await visible(OrgUnit, ANONYMOUS).get_or_none(id=unit.parent_id)
        if unit.parent_id
        else None
    )
    url = page_url(request, unit.code)
    html = POSTER.format(
        name=escape(unit.name),
        above=escape(parent.name if parent else ""),
        qr=_svg(url),
        url=escape(url),
    )
    return HTMLResponse(html)


POSTER = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name} · 一村一码</title>
<style>
  @page {{ size: A4 portrait; margin: 0; }}
  * {{ box-sizing: border-box; }}
  html, body {{ margin: 0; background: #e9edf1; }}
  body {{ font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif;
    color: #1b1f24; }}
  .sheet {{ width: 210mm; height: 297mm; margin: 8mm auto; background: #fff;
    padding: 22mm 18mm; display: flex; flex-direction: column; align-items: center;
    text-align: center; border-top: 14mm solid #b3261e; }}
  .above {{ font-size: 8mm; letter-spacing: 1mm; color: #5b6570; }}
  h1 {{ font-size: 17mm; margin: 6mm 0 3mm; letter-spacing: 2mm; }}
  .motto {{ font-size: 9mm; color: #b3261e; margin-bottom: 12mm; letter-spacing: 3mm; }}
  .qr svg {{ width: 120mm; height: 120mm; }}
  .how {{ font-size: 7mm; margin-top: 10mm; line-height: 1.6; }}
  .url {{ font-size: 4mm; color: #5b6570; margin-top: auto; word-break: break-all; }}
  .note {{ font-size: 3.5mm; color: #8a949e; margin-top: 2mm; }}
  @media print {{ html, body {{ background: #fff; }} .sheet {{ margin: 0; }} }}
</style>
</head>
<body>
<main class="sheet">
  <div class="above">{above}</div>
  <h1>{name}</h1>
  <div class="motto">一村一码 · 扫码进村社</div>
  <div class="qr">{qr}</div>
  <p class="how">微信或手机相机扫一扫<br>
    查看党务、村务、财务公开，通知公告和村社新闻</p>
  <div class="url">{url}</div>
  <div class="note">云上村社 · 演示数据均为虚构</div>
</main>
</body>
</html>
"""

routes = [
    Route("/c/{code}", community_page),
    Route("/c/{code}/qr.png", qr_png),
    Route("/c/{code}/qr.svg", qr_svg),
    Route("/c/{code}/poster", poster),
]
