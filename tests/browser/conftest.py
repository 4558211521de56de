"""Real-browser fixtures: Debian's Chromium driven by its own chromedriver (Selenium).

``make test`` installs Chromium, chromedriver and the Noto fonts when they are missing,
and axe-core from ``package-lock.json``. On CI (``CI`` set) anything missing fails the
tests loudly; on a developer's machine it skips them, saying what to install.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import tests.conftest as root_conftest
from tests.browser.support import AXE, Page

CHROMIUM = Path(os.environ.get("MAJLIS_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("MAJLIS_CHROMEDRIVER", "/usr/bin/chromedriver"))
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--lang=en-US",
    "--window-size=1024,900",
    "--force-device-scale-factor=1",
]
PAGES = pytest.StashKey[list[Page]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives Debian's Chromium through pages of local mode"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """tests/conftest.py's local mode, started once for all the browser tests."""
    yield from root_conftest.local.__wrapped__(tmp_path_factory)


def _on_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _missing(what: str) -> None:
    if _on_ci():
        pytest.fail(f"{what}; `make test` installs it, and CI must have it", pytrace=False)
    pytest.skip(f"{what}: `make test` installs it (needs apt-get and npm)")


def _launch(javascript: bool) -> Iterator[object]:
    if not os.access(CHROMIUM, os.X_OK) or not os.access(CHROMEDRIVER, os.X_OK):
        _missing(f"no Chromium at {CHROMIUM} or no chromedriver at {CHROMEDRIVER}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="majlis-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    prefs: dict[str, object] = {"intl.accept_languages": "en-US,en"}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    # A fixed zone, so that the script's "your time" and the screenshots do not vary.
    service = Service(str(CHROMEDRIVER), env={**os.environ, "TZ": "Asia/Karachi"})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="package")
def chromium() -> Iterator[object]:
    """Chromium with JavaScript, shared by the browser tests (one launch)."""
    yield from _launch(javascript=True)


@pytest.fixture(scope="package")
def chromium_without_js() -> Iterator[object]:
    """Chromium with JavaScript disabled, as some visitors (and screen readers) have it."""
    yield from _launch(javascript=False)


def _page(driver, request: pytest.FixtureRequest) -> Page:
    driver.delete_all_cookies()
    driver.get("about:blank")
    page = Page(driver, request.node.name)
    request.node.stash.setdefault(PAGES, []).append(page)
    return page


@pytest.fixture
def page(chromium, request: pytest.FixtureRequest) -> Page:
    return _page(chromium, request)


@pytest.fixture
def page_without_js(chromium_without_js, request: pytest.FixtureRequest) -> Page:
    return _page(chromium_without_js, request)


@pytest.fixture(scope="package")
def axe_source() -> Path:
    if not AXE.is_file():
        _missing(f"no axe-core at {AXE}")
    return AXE


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if report.when == "call" and report.failed:
        for page in item.stash.get(PAGES, []):
            try:
                report.sections.append(("screenshot", str(page.shot("failure"))))
            except Exception as error:  # noqa: BLE001 - a screenshot must not hide the failure
                report.sections.append(("screenshot", f"none: {error}"))
    return report
