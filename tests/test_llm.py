"""The LLM reader's contract: quotes verified against the articles, or the extractive answer and why.

Replies are checked as a server would send them, over HTTP on loopback: an OpenAI-style stream
written by a small server of the test's own (what it says is chosen per test, to reach every
path), and, in tests/test_llm_server.py, a real model behind llama.cpp's server.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from api import create_app
from qa import Answer, Archive, Passage
from qa.errors import DatelineError
from qa.llm import LLMFailure, locate, parse_reply, verified_answer
from tests.conftest import HEADLINE


class Endpoint:
    """An OpenAI-compatible chat endpoint on loopback that streams ``reply`` (or stalls, or errs)."""

    def __init__(self) -> None:
        self.reply = ""
        self.status = 200
        self.stall = threading.Event()  # set: hold the request until the test ends
        self.requests: list[dict] = []
        self.done = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests.append(body)
                if endpoint.stall.is_set():
                    endpoint.done.wait(30)
                    return
                self.send_response(endpoint.status)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                if endpoint.status == 200:
                    for i in range(0, len(endpoint.reply), 7):  # the reply in small pieces, as models stream
                        chunk = {"choices": [{"delta": {"content": endpoint.reply[i : i + 7]}}]}
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.write(b"data: [DONE]\n\n")
                else:
                    self.wfile.write(b'{"error": "bad request"}')

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.done.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    served = Endpoint()
    yield served
    served.close()


def _with_llm(archive: Archive, url: str, timeout: float = 30.0) -> Archive:
    settings = archive.settings.model_copy(update={"llm_url": url, "llm_model": "test-model", "llm_timeout": timeout})
    return Archive(archive.store, settings)


@pytest.fixture(scope="module")
def passages(corpus_archive: Archive) -> list[Passage]:
    return corpus_archive.search("Al Asad Air Base ballistic missiles January 20", k=5)


def _fallback(corpus_archive: Archive) -> Answer:
    return corpus_archive.ask(HEADLINE)


def test_exact_and_near_quotes_are_kept_at_their_offsets_made_up_ones_dropped(corpus_archive: Archive, passages: list[Passage]) -> None:
    first = passages[0]
    sentence = first.text.split(". ")[0] + "."
    altered = sentence.replace("several", "some", 1) if "several" in sentence else sentence[:-1] + " today."
    reply = {
        "answer": "On 20 January 2024.",
        "date": None,
        "citations": [
            {"passage": 1, "quote": sentence},
            {"passage": 1, "quote": altered},  # a word changed: stands for its sentence, already cited
            {"passage": 2, "quote": "Missiles were launched from the moon by penguins."},
            {"passage": 99, "quote": sentence},
        ],
    }
    answer = verified_answer(HEADLINE, reply, passages, _fallback(corpus_archive))
    assert len(answer.citations) == 1
    (citation,) = answer.citations
    article = corpus_archive.article(citation.article_id)
    assert article.text[citation.start : citation.end] == citation.quote
    assert citation.quote.strip(".") in sentence
    assert "LLM" in answer.message and answer.reader == "llm"
    checks = answer.quote_checks
    assert (checks.quoted, checks.verbatim, checks.repaired, checks.dropped, checks.fallback) == (4, 1, 1, 2, None)
    # A quote with a word changed, alone, is replaced by the sentence it stands for.
    near = verified_answer(HEADLINE, {"answer": "x", "citations": [{"passage": 1, "quote": altered}]}, passages, _fallback(corpus_archive))
    assert near.citations and article.text[near.citations[0].start : near.citations[0].end] == near.citations[0].quote
    assert locate("Missiles were launched from the moon by penguins.", first) is None


def test_no_verified_quote_gives_the_extractive_answer(corpus_archive: Archive, passages: list[Passage]) -> None:
    fallback = _fallback(corpus_archive)
    reply = {"answer": "It was in 1999.", "date": "1999-01-01", "citations": [{"passage": 1, "quote": "Nothing like this is written."}]}
    answer = verified_answer(HEADLINE, reply, passages, fallback)
    assert answer.answer == fallback.answer and answer.date == fallback.date and answer.citations == fallback.citations
    assert "none of its quotes was found" in answer.message
    assert answer.reader == "extractive" and answer.quote_checks.fallback == "no verified quote"


def test_a_date_no_cited_sentence_states_is_corrected(corpus_archive: Archive, passages: list[Passage]) -> None:
    dated = next(p for p in passages if p.events and any(e.precision == "day" for e in p.events))
    event = next(e for e in dated.events if e.precision == "day")
    sentence = next(s for s in dated.text.split(". ") if event.text in s)
    reply = {"answer": "Some day.", "date": "2023-02-02", "citations": [{"passage": passages.index(dated) + 1, "quote": sentence}]}
    answer = verified_answer(HEADLINE, reply, passages, _fallback(corpus_archive))
    assert answer.date == event.date.isoformat()
    assert "2023-02-02" in answer.message


def test_replies_that_are_not_the_json_asked_for() -> None:
    assert parse_reply('Sure!\n```json\n{"answer": "Yes", "citations": []}\n```')["answer"] == "Yes"
    for text, words in [
        ("", "empty"),
        ("I cannot help with that request.", "declined"),
        ("The answer is 42.", "not the JSON"),
        ('{"answer": 42}', "not the JSON"),
    ]:
        with pytest.raises(LLMFailure, match=words):
            parse_reply(text)


def test_over_http_a_good_reply_streams_tokens_then_a_verified_answer(corpus_archive: Archive, endpoint: Endpoint) -> None:
    archive = _with_llm(corpus_archive, endpoint.url)
    plain = archive.ask(HEADLINE)
    quote = plain.citations[0].quote
    # The model is told which passage holds the quote by its number: the first passage the ask reads.
    passages = [step for step in archive.ask_stream(HEADLINE) if isinstance(step, Passage)]
    number = next(i for i, p in enumerate(passages, 1) if p.article_id == plain.citations[0].article_id and quote in p.text)
    endpoint.reply = json.dumps({"answer": "January 20, 2024", "date": "2024-01-20", "citations": [{"passage": number, "quote": quote}]})
    steps = list(archive.ask_stream(HEADLINE, reader="llm"))
    tokens = "".join(s.text for s in steps if type(s).__name__ == "Token")
    assert tokens == endpoint.reply
    answer = steps[-1]
    assert isinstance(answer, Answer) and answer.answer == "January 20, 2024" and answer.date == "2024-01-20"
    assert [c.quote for c in answer.citations] == [quote]
    request = endpoint.requests[-1]
    assert request["model"] == "test-model" and request["stream"] is True and request["temperature"] == 0
    prompt = request["messages"][-1]["content"]
    assert HEADLINE in prompt and "[1]" in prompt and "2024-01-20" in prompt  # the question, numbered passages, dated events


def test_failures_give_the_extractive_answer_and_say_why(corpus_archive: Archive, endpoint: Endpoint) -> None:
    plain = corpus_archive.ask(HEADLINE)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"  # nothing listens once the probe closes
    cases = []
    cases.append(("cannot be reached", _with_llm(corpus_archive, closed)))
    endpoint.reply = "I'm sorry, but I can't answer questions about military matters."
    cases.append(("declined", _with_llm(corpus_archive, endpoint.url)))
    for (expected, archive), kind in zip(cases, ["unreachable", "declined"], strict=True):
        answer = archive.ask(HEADLINE, reader="llm")
        assert answer.date == plain.date and answer.citations == plain.citations
        assert expected in answer.message and answer.quote_checks.fallback == kind
    endpoint.reply = "<html>gateway error</html>"
    assert "not the JSON" in _with_llm(corpus_archive, endpoint.url).ask(HEADLINE, reader="llm").message
    endpoint.status = 500
    assert "HTTP 500" in _with_llm(corpus_archive, endpoint.url).ask(HEADLINE, reader="llm").message
    endpoint.status = 200
    endpoint.stall.set()
    slow = _with_llm(corpus_archive, endpoint.url, timeout=1.0).ask(HEADLINE, reader="llm")
    assert "no answer within 1 s" in slow.message and slow.date == plain.date


def test_rest_reader_field_and_stream(corpus_archive: Archive, endpoint: Endpoint) -> None:
    without = TestClient(create_app(corpus_archive))
    unconfigured = without.post("/v1/ask", json={"question": HEADLINE, "reader": "llm"})
    assert unconfigured.status_code == 200 and "DATELINE_LLM_URL" in unconfigured.json()["message"]
    assert unconfigured.json()["reader"] == "extractive" and unconfigured.json()["date"] == "2024-01-20"
    assert without.get("/healthz").json()["llm"] is False
    with pytest.raises(DatelineError):
        corpus_archive.ask(HEADLINE, reader="oracle")  # type: ignore[arg-type]
    archive = _with_llm(corpus_archive, endpoint.url)
    client = TestClient(create_app(archive))
    assert client.get("/healthz").json()["llm"] is True
    endpoint.reply = '{"answer": "unclear", "citations": [{"passage": 1, "quote": "words found nowhere at all"}]}'
    with client.stream("POST", "/v1/ask/stream", json={"question": HEADLINE, "reader": "llm"}) as response:
        kinds = [line[7:] for line in response.iter_lines() if line.startswith("event: ")]
    assert kinds[0] == "passage" and "token" in kinds and kinds[-2:] == ["answer", "done"]
    assert kinds.index("answer") > max(i for i, k in enumerate(kinds) if k == "token")
    answer = client.post("/v1/ask", json={"question": HEADLINE, "reader": "llm"}).json()
    assert answer["date"] == "2024-01-20" and "none of its quotes was found" in answer["message"]
