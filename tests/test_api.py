"""The REST API through the real app, on a real index."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api import create_app
from qa import Archive
from tests.conftest import HEADLINE


@pytest.fixture(scope="module")
def client(corpus_archive: Archive) -> TestClient:
    return TestClient(create_app(corpus_archive))


def test_ask_returns_the_dated_answer_with_citations(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": HEADLINE})
    assert response.status_code == 200
    body = response.json()
    assert body["date"] == "2024-01-20"
    assert {"quote", "start", "end", "url", "title", "published", "source", "article_id"} <= set(body["citations"][0])
    as_of = client.post("/v1/ask", json={"question": HEADLINE, "as_of": "2023-06-01", "k": 2}).json()
    assert as_of["date"] == "2020-01-08" and len(as_of["citations"]) <= 2


def test_stream_sends_passages_then_the_answer_then_done(client: TestClient) -> None:
    with client.stream("POST", "/v1/ask/stream", json={"question": HEADLINE}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    events = [block.split("\n") for block in text.strip().split("\n\n")]
    kinds = [lines[0].removeprefix("event: ") for lines in events]
    assert kinds[-2:] == ["answer", "done"] and set(kinds[:-2]) == {"passage"} and len(kinds) > 3
    answer = json.loads(events[-2][1].removeprefix("data: "))
    assert answer["date"] == "2024-01-20"


def test_search_timeline_article_stats_health(client: TestClient) -> None:
    results = client.get("/v1/search", params={"q": "Beirut port explosion", "k": 3}).json()["results"]
    assert results[0]["title"] == "Huge explosion devastates Beirut port"
    dated = client.get("/v1/search", params={"q": "missiles", "since": "2024-01-01", "source": "Dateline Sample Wire"}).json()["results"]
    assert dated and all(r["published"] >= "2024-01-01" and r["source"] == "Dateline Sample Wire" for r in dated)
    events = client.get("/v1/timeline", params={"q": "Ain al-Asad hit by ballistic missiles"}).json()["events"]
    assert "2024-01-20" in [e["date"] for e in events]
    for event in events:  # distinct outlets among the citations and their syndicated copies
        outlets = {c["source"] or c["url"] or c["article_id"] for c in event["citations"] for c in [c, *c["copies"]]}
        assert event["sources"] == len(outlets) >= 1
    as_of = client.get("/v1/timeline", params={"q": "Ain al-Asad hit by ballistic missiles", "as_of": "2023-06-01"}).json()
    assert as_of["as_of"] == "2023-06-01" and all(e["date"] <= "2023-06-01" for e in as_of["events"])
    article = client.get(f"/v1/articles/{results[0]['article_id']}").json()
    assert article["text"][results[0]["start"] : results[0]["end"]] == results[0]["text"]
    assert client.get("/v1/articles/no-such-id").status_code == 404
    stats = client.get("/v1/stats").json()
    assert stats["articles"] >= 30
    assert client.get("/healthz").json() == {"status": "ok", "articles": stats["articles"], "llm": False}


def test_bad_requests_get_4xx_with_a_reason(client: TestClient) -> None:
    malformed = client.post("/v1/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert malformed.status_code == 422
    empty = client.post("/v1/ask", json={"question": "   "})
    assert empty.status_code == 422
    bad_day = client.get("/v1/search", params={"q": "x", "since": "soon"})
    assert bad_day.status_code == 422 and "since" in json.dumps(bad_day.json()["detail"])
    too_long = client.post("/v1/ask", json={"question": "why " * 400})
    assert too_long.status_code == 422 and "1000" in json.dumps(too_long.json()["detail"])
    huge = client.post("/v1/articles", content=b"x" * 3_000_000, headers={"content-type": "application/json"})
    assert huge.status_code == 413
    assert client.post("/v1/ask", json={"question": "x", "k": 0}).status_code == 422


@pytest.mark.parametrize("text", ["\x1e", "\x1c ", "\u200b"])
def test_text_the_schema_admits_is_not_refused_as_empty(client: TestClient, text: str) -> None:
    # Control and format characters are not white space to the schema's pattern; found by schemathesis.
    assert client.post("/v1/ask", json={"question": text}).status_code == 200
    assert client.get("/v1/search", params={"q": text}).status_code == 200


@pytest.mark.parametrize("text", ["\u3000", "\xa0\n", "\u2009\t"])
def test_unicode_white_space_alone_is_refused(client: TestClient, text: str) -> None:
    assert client.post("/v1/ask", json={"question": text}).status_code == 422


def test_openapi_lists_every_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {
        "/v1/ask",
        "/v1/ask/stream",
        "/v1/search",
        "/v1/timeline",
        "/v1/articles/{article_id}",
        "/v1/articles",
        "/v1/stats",
        "/healthz",
    } <= set(schema["paths"])
    assert "Answer" in schema["components"]["schemas"] and "Citation" in schema["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_posting_articles_indexes_good_ones_and_reports_bad_ones(empty_archive: Archive) -> None:
    client = TestClient(create_app(empty_archive))
    good = {
        "id": "p1",
        "title": "Flood closes the river port",
        "published": "2024-05-02",
        "text": "Floods closed the river port on Tuesday.",
    }
    body = {"articles": [good, {"id": "p2", "text": ""}, {"id": "p3", "text": "x", "published": "never"}, "not an object"]}
    report = client.post("/v1/articles", json=body).json()
    assert report["articles_added"] == 1
    assert [(e["path"], e["line"]) for e in report["errors"]] == [("request", 2), ("request", 3), ("request", 4)]
    assert client.get("/v1/articles/p1").json()["title"] == "Flood closes the river port"
    paths = client.post("/v1/articles", json={"articles": [{"path": "/etc/passwd"}]}).json()
    assert paths["articles_added"] == 0 and "text" in paths["errors"][0]["reason"]  # bodies, never paths


def test_api_key_guards_every_v1_route(corpus_archive: Archive) -> None:
    settings = corpus_archive.settings.model_copy(update={"api_key": "s3cret"})
    client = TestClient(create_app(corpus_archive, settings))
    schema = client.get("/openapi.json").json()
    for path, methods in schema["paths"].items():
        if not path.startswith("/v1"):
            continue
        url = path.replace("{article_id}", "x")
        for method in methods:
            assert client.request(method.upper(), url).status_code == 401, (method, path)
    ok = client.post("/v1/ask", json={"question": HEADLINE}, headers={"X-API-Key": "s3cret"})
    assert ok.status_code == 200
    assert client.get("/healthz").status_code == 200 and client.get("/").status_code == 200
