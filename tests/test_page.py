"""The chat page in a real browser: Debian's chromium driven by Playwright, against a live server."""

from __future__ import annotations

import contextlib
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
    published="2024-05-06",
    source="<b>Probe</b> Source",
    url="javascript:window.__xss=3",
    text=(
        "The harbour festival opened with fireworks over the old port on May 3, 2024. "
        '<script>window.__xss=2</script> Organisers said <img src=x onerror="window.__xss=4"> thousands came. '
        'On May 5, 2024, the festival parade <svg onload="window.__xss=5"></svg> crossed the harbour bridge.'
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
    assert first.locator(".context").is_hidden()  # the article takes the passage's place, not repeated below it
    # The day the text states and the day of publication are different things, shown differently.
    assert first.locator(".stated-date time").get_attribute("datetime") == "2024-01-20"
    assert first.locator(".published-date time").get_attribute("datetime").startswith("2024-01-2")
    confidence = page.locator(".confidence").first
    assert any(word in confidence.inner_text() for word in ("Strong", "Fair", "Weak"))
    assert float(confidence.get_attribute("title").split()[1]) > 0
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


def _api_timeline(page, server: str, question: str, **params: str) -> dict:  # type: ignore[no-untyped-def]
    response = page.request.get(server + "/v1/timeline", params={"q": question, **params})
    assert response.ok
    return response.json()


def _marks(page) -> list[dict]:  # type: ignore[no-untyped-def]
    return page.locator(".timeline .mark").evaluate_all(
        "marks => marks.map(m => ({date: m.dataset.date, sources: Number(m.dataset.sources), r: Number(m.getAttribute('r')),"
        " answer: m.classList.contains('answer')}))"
    )


def test_when_answer_draws_the_timeline_the_api_gives(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(server + "/")
    page.get_by_label("Question").fill(HEADLINE)
    page.keyboard.press("Enter")
    page.locator(".timeline .mark").first.wait_for(timeout=60_000)
    expected = _api_timeline(page, server, HEADLINE)
    marks = _marks(page)
    assert [m["date"] for m in marks] == [e["date"] for e in expected["events"]]
    assert [m["sources"] for m in marks] == [e["sources"] for e in expected["events"]]
    assert len(marks) >= 2, "both strikes on the base are on the time line"
    # More sources, a larger mark; the answer's day is the highlighted one.
    for a in marks:
        for b in marks:
            assert (a["r"] > b["r"]) == (a["sources"] > b["sources"])
    answer_day = page.locator(".event-date").first.get_attribute("data-date")
    assert [m["date"] for m in marks if m["answer"]] == [answer_day]
    # Hovering a mark shows its day and quote; choosing it shows its citations.
    first = page.locator(".timeline .mark").first
    first.hover()
    tip = page.locator(".timeline-tip")
    assert tip.is_visible() and expected["events"][0]["quote"] in tip.inner_text()
    first.click()
    chosen = page.locator(".timeline-citations .card")
    chosen.first.wait_for()
    assert chosen.count() == len(expected["events"][0]["citations"])
    assert chosen.first.locator("mark").inner_text() == expected["events"][0]["citations"][0]["quote"]
    # Dragging across the axis zooms to that range: the marks outside it leave, "Show all" brings them back.
    box = page.locator(".timeline-svg").bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + 40, steps=5)
    page.mouse.up()
    zoomed = [m["date"] for m in _marks(page)]
    assert zoomed and len(zoomed) < len(marks) and zoomed[0] == marks[0]["date"]
    page.get_by_role("button", name="Show all").click()
    assert [m["date"] for m in _marks(page)] == [m["date"] for m in marks]
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "timeline.png"))
    page.close()


def test_timeline_mode_works_from_the_keyboard_alone(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(server + "/")
    question = "Ain al-Asad ballistic missiles"
    page.keyboard.type(question)  # the question box has the focus when the page opens
    page.keyboard.press("Tab")  # Ask
    page.keyboard.press("Tab")  # the first mode, "Answer"
    page.keyboard.press("ArrowRight")  # "Timeline"
    assert page.evaluate("document.activeElement.value") == "timeline"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    page.locator(".timeline .mark").first.wait_for(timeout=60_000)
    expected = [e["date"] for e in _api_timeline(page, server, question)["events"]]
    assert [m["date"] for m in _marks(page)] == expected
    assert page.locator(".timeline-turn .card").count() == 0  # nothing chosen yet
    page.keyboard.press("Shift+Tab")  # from the question box back into the conversation: the last mark
    focused = "document.activeElement.dataset ? document.activeElement.dataset.date : null"
    assert page.evaluate(focused) == expected[-1]
    assert page.locator(".timeline-tip").is_visible()
    page.keyboard.press("Home")
    assert page.evaluate(focused) == expected[0]
    page.keyboard.press("ArrowRight")
    assert page.evaluate(focused) == expected[1]
    page.keyboard.press("Enter")
    page.locator(".timeline-citations .card").first.wait_for()
    assert page.locator(".timeline-citations .card .stated-date time").first.get_attribute("datetime") is not None
    assert page.evaluate("document.activeElement.getAttribute('aria-pressed')") == "true"
    # + zooms in around the focused mark, which keeps the focus; 0 shows everything again.
    ticks_before = page.locator(".tick-label").all_inner_texts()
    page.keyboard.press("+")
    page.keyboard.press("+")
    assert page.evaluate(focused) == expected[1]
    assert page.locator(".tick-label").all_inner_texts() != ticks_before
    assert len(_marks(page)) < len(expected)
    page.keyboard.press("0")
    assert [m["date"] for m in _marks(page)] == expected
    page.close()


def test_timeline_at_phone_width_with_as_of_line_and_inert_text(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 375, "height": 740})
    page.goto(server + "/")
    page.get_by_label("Timeline").check()
    page.locator("summary").click()
    page.get_by_label("As of").fill("2024-06-01")
    question = "When did the harbour festival parade cross the bridge?"
    page.get_by_label("Question").fill(question)
    page.get_by_role("button", name="Ask").click()
    page.locator(".timeline .mark").first.wait_for(timeout=60_000)
    expected = _api_timeline(page, server, question, as_of="2024-06-01")
    assert [m["date"] for m in _marks(page)] == [e["date"] for e in expected["events"]]
    assert page.locator(".timeline .as-of").get_attribute("data-date") == "2024-06-01"
    parade = page.locator('.timeline .mark[data-date="2024-05-05"]')
    parade.focus()
    assert "<svg onload" in page.locator(".timeline-tip").inner_text()
    page.keyboard.press("Enter")
    page.locator(".timeline-citations .card").first.wait_for()
    page.wait_for_timeout(300)  # give an injected handler the chance to run, were there one
    assert page.evaluate("window.__xss") is None
    holder = page.locator(".timeline-holder")
    assert holder.locator("img, script, b, foreignObject").count() == 0
    assert holder.locator("svg svg").count() == 0  # the quote's <svg> stayed text
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    OUTPUT.mkdir(exist_ok=True)
    page.locator("summary").click()  # the time window folded away again, as a reader would
    holder.scroll_into_view_if_needed()
    parade.focus()
    page.screenshot(path=str(OUTPUT / "timeline-phone.png"))
    page.close()


def test_llm_switch_only_with_an_llm_and_its_answer_checked(browser, page_archive: Archive, server: str) -> None:  # type: ignore[no-untyped-def]
    import json

    from tests.test_llm import Endpoint

    plain = browser.new_page()
    with plain.expect_response("**/healthz") as health:
        plain.goto(server + "/")
    assert health.value.json()["llm"] is False
    plain.wait_for_function("() => document.readyState === 'complete'")
    assert plain.locator("#reader-switch").is_hidden()
    plain.close()
    endpoint = Endpoint()
    try:
        quote = page_archive.ask(HEADLINE).citations[0].quote
        endpoint.reply = json.dumps({"answer": "20 January 2024", "date": "2024-01-20", "citations": [{"passage": 1, "quote": quote}]})
        for url in _serve(page_archive, llm_url=endpoint.url, llm_model="test-model"):
            page = browser.new_page()
            page.goto(url + "/")
            switch = page.get_by_label("LLM reader (quotes checked)")
            switch.wait_for()
            switch.check()
            page.get_by_label("Question").fill(HEADLINE)
            page.keyboard.press("Enter")
            page.locator(".event-date").first.wait_for(timeout=60_000)
            assert page.locator(".llm-draft").count() == 0  # the draft gave way to the checked answer
            turn = page.locator(".turn").first
            assert "LLM" in turn.locator(".message").first.inner_text()
            assert endpoint.requests and endpoint.requests[-1]["messages"][-1]["content"].startswith("Question: " + HEADLINE)
            page.close()
    finally:
        endpoint.close()
        page_archive.settings = page_archive.settings.model_copy(update={"llm_url": "", "llm_model": ""})  # as the other tests had it


def test_page_says_when_vectors_are_still_being_computed(browser, server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    archive = Archive.open(tmp_path / "index")
    archive.ingest([CORPUS / "iraq"], embed=False)  # searchable by words, no vector yet

    def ask(url: str):  # type: ignore[no-untyped-def]
        page = browser.new_page()
        page.goto(url + "/")
        page.get_by_label("Question").fill(HEADLINE)
        page.keyboard.press("Enter")
        page.locator(".event-date").first.wait_for(timeout=60_000)
        assert page.locator(".event-date").first.inner_text() == "20 January 2024"
        return page

    with contextlib.contextmanager(_serve)(archive) as url:
        page = ask(url)
        status = page.locator(".embedding")
        assert "0%" in status.inner_text() and "by words" in status.inner_text()
        page.close()
    page = ask(server)  # every chunk embedded: nothing to say
    assert page.locator(".embedding").count() == 0
    page.close()
