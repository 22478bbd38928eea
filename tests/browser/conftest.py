"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, the live server, a worker.

Playwright's own browser download does not work on our machines, so the tests drive the
system's /usr/bin/chromium (CI installs the `chromium` package). Without it they are skipped,
or fail under REQUIRE_SERVICES=1 like any test whose server is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import sync_playwright

from devtools.workers import Worker, celery_app_using

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root in a container
    "--disable-gpu",
    # Chromium's own calls home are refused here, many at a time; none of them is needed.
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The size of the README's screenshots.
VIEWPORT = {"width": 1280, "height": 900}
# A step that waits longer than this for the page is stuck; fail rather than hang.
STEP_TIMEOUT_MS = 10_000
# Screenshots of each step, kept by CI as artifacts (gitignored).
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "browser"


def pytest_configure(config):
    # Also in pyproject.toml's markers; registered here too so that --strict-markers accepts
    # the marker whichever file a checkout has.
    config.addinivalue_line(
        "markers",
        "browser: drives /usr/bin/chromium; skipped without it, a failure under REQUIRE_SERVICES=1",
    )


@pytest.fixture(autouse=True)
def _chromium_required(request):
    if request.node.get_closest_marker("browser") is None or CHROMIUM.exists():
        return
    reason = f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
    # conftest.services_required(): CI installs chromium, so there it must be found.
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def browser_locale() -> str | None:
    """The browser's language (its Accept-Language); a module overrides it: "ko-KR"."""
    return None


@pytest.fixture
def page(monkeypatch, live_server, browser_locale):
    """A fresh Chromium page, its default timeout short, product images served from MEDIA_ROOT."""
    # Playwright's sync API runs its asyncio loop on this thread, and Django then refuses ORM
    # calls from the test ("You cannot call this from an async context").
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            locale = {"locale": browser_locale} if browser_locale else {}
            context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, **locale)
            context.set_default_timeout(STEP_TIMEOUT_MS)
            # The test settings do not serve media (SERVE_MEDIA is off outside development);
            # the browser gets the seeded images from the folder instead of broken images.
            context.route(f"{live_server.url}/{settings.MEDIA_URL.strip('/')}/**", _serve_media)
            yield context.new_page()
        finally:
            browser.close()
            # While Playwright's loop runs, Django keeps this thread's connections apart (as
            # for async code); closed here, or one stays open and blocks dropping the test
            # database on PostgreSQL.
            connections.close_all()


def _serve_media(route, request) -> None:
    relative = request.url.split(f"/{settings.MEDIA_URL.strip('/')}/", 1)[1].split("?", 1)[0]
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / relative).resolve()
    if not path.is_file() or root not in path.parents:
        route.fulfill(status=404)
        return
    # Playwright sets the content type from the file name.
    route.fulfill(path=str(path))


@pytest.fixture
def screenshot(page):
    """screenshot("01-product-list"): the whole page, into test-artifacts/browser/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def embedded_broker_worker(transactional_db, tmp_path, mail_dir) -> Iterator[Worker]:
    """A `celery worker` on an embedded broker in tmp_path, fed by this process (and so by the
    live server's thread), sending its e-mails to files in mail_dir.

    Started here and not waited for: it gets ready while the browser shops. Stopped before
    the database is flushed (hence transactional_db).
    """
    folder = tmp_path / "broker"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder),
               "control_folder": str(folder)}
    with celery_app_using("filesystem://", transport_options=options):
        worker = Worker(mail_dir=mail_dir, log_path=tmp_path / "worker.log",
                        broker_env={"CELERY_FILESYSTEM_BROKER_DIR": str(folder)})
        worker.start()
        try:
            yield worker
        finally:
            worker.stop()
