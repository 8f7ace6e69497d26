"""The chat page in a real browser: Debian's chromium driven by Playwright, against a live server."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from api import create_app
from qa import Archive, Article
from tests.conftest import CORPUS, HEADLINE, ROOT

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = ROOT / "test-output"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not CHROMIUM.exists():
    # `make test` installs it; outside CI a developer without it is told, not failed.
    pytestmark = pytest.mark.skipif(not os.environ.get("CI"), reason="Debian's chromium is not installed (make test installs it)")

PROBE = Article(
    id="xss-probe",
    title='Harbour festival <img src=x onerror="window.__xss=1">',
    published="2024-05-04",
    source="<b>Probe</b> Source",
    url="javascript:window.__xss=3",
    text=(
        "The harbour festival opened with fireworks over the old port on May 3, 2024. "
        '<script>window.__xss=2</script> Organisers said <img src=x onerror="window.__xss=4"> thousands came.'
    ),
)


def _serve(archive: Archive, **overrides: str) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = archive.settings.model_copy(update=overrides)
    server = uvicorn.Server(uvicorn.Config(create_app(archive, settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def page_archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    archive = Archive.open(tmp_path_factory.mktemp("page-index"))
    archive.ingest([CORPUS / "iraq", PROBE])
    return archive


@pytest.fixture(scope="module")
def server(page_archive: Archive) -> Iterator[str]:
    yield from _serve(page_archive)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield browser
        browser.close()


def test_question_gets_date_citations_and_article_context(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(server + "/")
    page.get_by_label("Question").fill(HEADLINE)
    page.keyboard.press("Enter")
    date = page.locator(".event-date").first
    date.wait_for(timeout=60_000)
    assert date.inner_text() == "20 January 2024"
    cards = page.locator(".card")
    assert cards.count() >= 1
    first = cards.first
    assert "Al Asad Air Base" in first.locator("mark").inner_text()
    first.get_by_role("button", name="Read in the article").click()
    full = first.locator(".full-text")
    full.wait_for()
    assert "Al Asad Air Base" in full.locator("mark").inner_text()
    assert first.locator("a.source-link").get_attribute("href").startswith("https://corpus.dateline.example/")
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "chat-page.png"))

    # The conversation stays: a second question is added below the first.
    page.get_by_label("Question").fill("When did the harbour festival open?")
    page.keyboard.press("Enter")
    page.locator(".turn").nth(1).locator(".event-date").wait_for(timeout=60_000)
    assert page.locator(".turn").count() == 2
    page.close()


def test_article_text_is_inert(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(server + "/")
    page.get_by_label("Question").fill("When did the harbour festival open with fireworks?")
    page.keyboard.press("Enter")
    card = page.locator(".card").first
    card.wait_for(timeout=60_000)
    card.get_by_role("button", name="Read in the article").click()
    card.locator(".full-text").wait_for()
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    assert page.locator(".card img, .card script, .card b").count() == 0
    assert "<img src=x" in card.locator("h3").inner_text()
    assert "<script>" in card.locator(".full-text").inner_text()
    assert card.locator("a.source-link").count() == 0  # a javascript: URL is not made a link
    page.close()


def test_phone_width_and_time_window(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 375, "height": 740})
    page.goto(server + "/")
    page.locator("summary").click()
    page.get_by_label("As of").fill("2023-06-01")
    page.get_by_label("Question").fill(HEADLINE)
    page.get_by_role("button", name="Ask").click()
    date = page.locator(".event-date").first
    date.wait_for(timeout=60_000)
    assert date.get_attribute("data-date") == "2020-01-08"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.close()


def test_page_asks_for_the_api_key_once(browser, page_archive: Archive) -> None:  # type: ignore[no-untyped-def]
    for url in _serve(page_archive, api_key="open-sesame"):
        page = browser.new_page()
        page.goto(url + "/")
        page.get_by_label("Question").fill(HEADLINE)
        page.keyboard.press("Enter")
        key = page.get_by_label("This server needs an API key")
        key.wait_for(timeout=30_000)
        key.fill("open-sesame")
        page.keyboard.press("Enter")
        page.locator(".event-date").first.wait_for(timeout=60_000)
        page.get_by_label("Question").fill("When did the harbour festival open?")
        page.keyboard.press("Enter")
        page.locator(".turn").nth(1).locator(".event-date").wait_for(timeout=60_000)
        assert page.locator("#key-form").is_hidden()
        page.close()
