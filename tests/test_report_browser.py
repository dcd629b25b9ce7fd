"""The HTML report in a real browser: Debian's chromium driven by Playwright (never `playwright install`).

CI installs chromium (`make browser`); when it is missing this test fails with a clear message.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from entrasnap.services.report import build_report, render
from entrasnap.store import LocalBackend, Repository
from test_report import HOSTILE, Tenant, build_tenant

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SECTIONS = (
    "snapshot",
    "conditional-access",
    "pim",
    "applications",
    "groups",
    "administrative-units",
    "coverage",
)


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    built = build_tenant(tmp_path_factory.mktemp("report-browser"))
    yield built
    built.running.stop()


def test_report_renders_cleanly_in_chromium(tenant: Tenant, tmp_path: Path) -> None:
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.fail(
            "Debian's chromium is not installed (/usr/bin/chromium): run `make browser` "
            "(apt-get install -y chromium); CI does this before the tests"
        )
    from playwright.sync_api import ConsoleMessage, Dialog, sync_playwright

    page_file = tmp_path / "report.html"
    page_file.write_text(
        render(build_report(Repository.open(LocalBackend(tenant.full))), "html"), encoding="utf-8"
    )
    errors: list[str] = []
    dialogs: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})

            def on_console(message: ConsoleMessage) -> None:
                if message.type == "error":
                    errors.append(message.text)

            def on_dialog(dialog: Dialog) -> None:
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("console", on_console)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("dialog", on_dialog)
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_file.as_uri())
            assert page.title().startswith("Entra ID configuration report — ")
            for section in SECTIONS:
                assert page.locator(f"#{section}").count() == 1, section
                assert page.locator(f"nav.toc a[href='#{section}']").count() == 1, section
            assert page.locator("#conditional-access ~ article.item, section.top article.item").count() > 15
            # The hostile group name is shown as text, never run.
            assert page.get_by_text(HOSTILE).first.is_visible() or page.locator(f"text={HOSTILE}").count() > 0
            wide = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert wide[0] <= wide[1], f"horizontal overflow at 1280px: {wide}"
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            page.set_viewport_size({"width": 390, "height": 800})
            narrow = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert narrow[0] <= narrow[1], f"horizontal overflow at 390px: {narrow}"
            page.emulate_media(media="print")
            assert (
                page.evaluate("getComputedStyle(document.querySelector('nav.toc')).borderTopStyle") == "none"
            )
        finally:
            browser.close()
    assert errors == [], errors
    assert dialogs == [], f"a script ran: {dialogs}"
    assert [r for r in requests if not r.startswith("file://")] == [], requests  # self-contained
    assert shot.stat().st_size > 100_000, shot.stat().st_size
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
