"""The browser libraries: only their built files are served."""

from __future__ import annotations

import httpx


async def test_only_the_built_library_is_served(http: httpx.AsyncClient) -> None:
    echarts = await http.get("/vendor/echarts.min.js")
    assert echarts.status_code == 200
    assert echarts.headers["content-type"].startswith("text/javascript")
    for path in (
        "/vendor/nope.js",
        "/node_modules/echarts/package.json",
        "/node_modules/zrender/index.js",
    ):
        assert (await http.get(path)).status_code == 404, path
