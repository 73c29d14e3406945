"""The browser libraries the frontends use, from ``frontends/node_modules``.

``make setup`` installs them with ``npm ci`` from the committed lock file; only
their built files are served, under ``/vendor/``, and nothing else of
``node_modules`` (the static mount would otherwise serve all of it).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

__all__ = ["routes"]

MODULES = Path(__file__).resolve().parent.parent / "frontends" / "node_modules"
FILES = {"echarts.min.js": MODULES / "echarts" / "dist" / "echarts.min.js"}
CACHE = {"cache-control": "public, max-age=86400"}


async def vendor_file(request: Request) -> Response:
    path = FILES.get(request.path_params["name"])
    if path is None or not path.is_file():
        return PlainTextResponse("Not found (run `make setup`).", 404)
    return FileResponse(path, media_type="text/javascript", headers=CACHE)


async def hidden(request: Request) -> Response:
    return PlainTextResponse("Not found.", 404)


routes = [
    Route("/vendor/{name}", vendor_file),
    Route("/node_modules/{rest:path}", hidden),
]
