"""Browser tests: the platform served by a real uvicorn, driven in headless Chromium.

One server per session, started as ``python -m api serve`` on a free port in
8700-8799 over the small demo (its accounts are those of docs/demo-accounts.md):
on SQLite in a temporary folder, or on a throwaway PostgreSQL database (and
Redis) when ``DATABASE_URL`` and ``REDIS_URL`` point at servers. The browser is
Debian's ``chromium`` through Playwright; without it these tests are skipped
locally, and fail in CI (``CI`` set). Screenshots go to tests/e2e/artifacts/.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.db import is_postgres, throwaway_postgres

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path(os.environ.get("YUNSHANG_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PORTS = range(8700, 8800)
START_TIMEOUT = 120.0
PASSWORD = "Demo-2026"
PHONE = 375, 740
SCREEN = 1920, 1080
LAPTOP = 1366, 768


def _missing_browser() -> str | None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make setup)"
    if not CHROMIUM.exists():
        return f"no browser at {CHROMIUM} (apt-get install -y chromium)"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = _missing_browser()
    if reason is None:
        return
    if os.environ.get("CI"):
        return  # In CI a missing browser fails the tests (see ``browser``).
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=f"browser tests: {reason}"))


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8700-8799")


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "api", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"api {args[0]} failed: {done.stderr[-2000:]}")


def _serve(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--port", str(port), "--no-demo"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def server() -> AsyncIterator[str]:
    """The base URL of a served platform with the small demo loaded."""
    async with AsyncExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="ys-e2e-"))
        env = {
            **os.environ,
            "YUNSHANG_ENV": "development",
            "YUNSHANG_DATA_DIR": folder,
            "YUNSHANG_JWT_KEYS": "e2e:" + "k" * 40,
            "PYTHONUNBUFFERED": "1",
        }
        base = os.environ.get("DATABASE_URL", "")
        if is_postgres(base) and os.environ.get("REDIS_URL"):
            env["DATABASE_URL"] = await stack.enter_async_context(
                throwaway_postgres(base, "yunshang_e2e")
            )
        else:
            env.pop("DATABASE_URL", None)
            env.pop("REDIS_URL", None)
        await asyncio.to_thread(_run, ["demo", "--scale", "small"], env)

        port = _free_port()
        process = _serve(port, env, Path(folder) / "serve.log")
        url = f"http://127.0.0.1:{port}"
        try:
            await _wait_ready(url, process)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT
    async with httpx.AsyncClient() as client:
        while asyncio.get_running_loop().time() < deadline:
            if process.poll() is not None:
                raise RuntimeError("the server stopped while starting")
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not become ready")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    reason = _missing_browser()
    if reason is not None:
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            await launched.close()


Opener = Callable[..., Awaitable[Any]]


@pytest_asyncio.fixture(loop_scope="session")
async def open_page(browser: Any, server: str) -> AsyncIterator[Opener]:
    """``await open_page(size=PHONE)``: a page in a fresh context (own storage)."""
    contexts: list[Any] = []

    async def opener(size: tuple[int, int] = PHONE) -> Any:
        context = await browser.new_context(
            viewport={"width": size[0], "height": size[1]}, base_url=server
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = await context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page

    yield opener
    for context in contexts:
        await context.close()


async def sign_in(page: Any, phone: str, password: str = PASSWORD) -> None:
    await page.goto("/#/login")
    await page.fill("#phone", phone)
    await page.fill("#password", password)
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("[data-home]")


async def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def note(name: str, text: str) -> None:
    """A measured figure, kept with the screenshots."""
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_text(text, encoding="utf-8")
