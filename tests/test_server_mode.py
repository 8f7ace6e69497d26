"""The same behaviour against a real `chroma run` server on loopback (DATELINE_CHROMA_URL / --chroma-url)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa import Archive, IndexNotFoundError, Settings, retrieve
from qa.retrieve import Filters
from tests.conftest import CORPUS, HEADLINE, ROOT
from tests.test_cli import run

CHROMA = shutil.which("chroma", path=str(ROOT / ".venv" / "bin")) or shutil.which("chroma")


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert CHROMA, "the chroma command (from the chromadb package) is not installed"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = tmp_path_factory.mktemp("chroma-server")
    log = open(folder / "server.log", "w")  # noqa: SIM115 - closed below, after the server stops
    server = subprocess.Popen(
        [CHROMA, "run", "--path", str(folder / "data"), "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            assert server.poll() is None, (folder / "server.log").read_text()
            assert time.monotonic() < deadline, "chroma run did not start"
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(20)
    log.close()


@pytest.fixture(scope="module")
def server_archive(chroma_url: str, tmp_path_factory: pytest.TempPathFactory) -> Archive:
    # The index's name picks its collections on the server; its local folder (sentence vectors)
    # goes under the test's temporary folder, not the working directory.
    index = tmp_path_factory.mktemp("local") / "server-tests"
    archive = Archive.open(settings=Settings(index=index, chroma_url=chroma_url))
    report = archive.ingest([CORPUS])
    assert report.articles_added >= 30 and not report.errors
    return archive


def test_headline_and_as_of_through_the_server(server_archive: Archive) -> None:
    assert server_archive.ask(HEADLINE).date == "2024-01-20"
    assert server_archive.ask(HEADLINE, as_of="2023-06-01").date == "2020-01-08"
    assert "server-tests" in server_archive.store.location


def test_reingest_and_filters_through_the_server(server_archive: Archive) -> None:
    before = server_archive.stats()
    again = server_archive.ingest([CORPUS])
    assert again.articles_added == 0 and again.articles_skipped == before.articles and again.chunks == 0
    assert server_archive.stats() == before
    recent = server_archive.search("missile attack on a base in Iraq", k=10, since="2024-01-01")
    assert recent and all(p.published >= "2024-01-01" for p in recent)


def test_indexes_are_separate_collections_on_one_server(chroma_url: str, server_archive: Archive) -> None:
    with pytest.raises(IndexNotFoundError):
        Archive.open(settings=Settings(index=server_archive.settings.index.parent / "never-made", chroma_url=chroma_url), create=False)


def test_cli_with_chroma_url(chroma_url: str, server_archive: Archive) -> None:
    result = run("ask", HEADLINE, "--index", str(server_archive.settings.index), "--chroma-url", chroma_url, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["date"] == "2024-01-20"
    unreachable = run("stats", "--chroma-url", "http://127.0.0.1:9", "--json")
    assert unreachable.returncode == 2 and "cannot reach the Chroma server" in unreachable.stderr


def test_a_search_sees_what_another_process_ingested(chroma_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retrieve, "FRESHNESS_SECONDS", 0.0)
    index = tmp_path / "fresh-tests"
    reader = Archive.open(settings=Settings(index=index, chroma_url=chroma_url))
    reader.ingest([CORPUS / "world"])
    old = reader.retriever.lexical
    assert "quxville" not in old.document_frequency
    batch = tmp_path / "new.jsonl"
    article = {"id": "fair", "title": "Zeppelin fair", "published": "2024-05-02", "text": "A zeppelin fair opened in Quxville on Monday."}
    batch.write_text(json.dumps(article) + "\n")
    written = run("ingest", str(batch), "--index", str(index), "--chroma-url", chroma_url, "--json")  # another process
    assert written.returncode == 0, written.stderr
    # Searches go on with the old lexical index while a new one is built, then use it.
    deadline = time.monotonic() + 60
    while "quxville" not in reader.retriever.lexical.document_frequency and time.monotonic() < deadline:
        assert reader.search("zeppelin fair Quxville", k=3)
        time.sleep(0.2)
    assert reader.retriever.lexical is not old
    assert reader.retriever.lexical.search("Quxville zeppelin", 3, Filters())[0][0].startswith("fair#")
    assert reader.search("zeppelin fair in Quxville", k=1)[0].article_id == "fair"


def test_a_server_sees_what_follow_adds_from_a_feed(chroma_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qa import Article
    from tests.test_web import Site, page, rss

    monkeypatch.setattr(retrieve, "FRESHNESS_SECONDS", 0.0)
    index = tmp_path / "follow-tests"
    reader = Archive.open(settings=Settings(index=index, chroma_url=chroma_url))
    reader.ingest([CORPUS / "world"])
    site = Site()
    try:
        regatta = Article(
            id="regatta",
            url=site.url + "/regatta.html",
            title="Airship regatta in Quxburg",
            published="2024-06-01",
            text="Twelve airships raced over Quxburg harbour on Saturday in the town's first airship regatta. "
            "Thousands watched from the quays as the winning crew crossed the line after two hours.",
        )
        site.routes["/regatta.html"] = (200, "text/html", page(regatta))
        item = ("/regatta.html", regatta.title, "Sat, 01 Jun 2024 18:00:00 GMT", "")
        site.routes["/feed.rss"] = (200, "application/rss+xml", rss(site, [item]))
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(site.url + "/feed.rss\n")
        followed = run("follow", str(feeds), "--index", str(index), "--chroma-url", chroma_url, "--json")  # another process
        assert followed.returncode == 0, followed.stderr
        assert json.loads(followed.stdout)["report"]["articles_added"] == 1
    finally:
        site.close()
    deadline = time.monotonic() + 60
    while "quxburg" not in reader.retriever.lexical.document_frequency and time.monotonic() < deadline:
        reader.search("airship regatta", k=3)
        time.sleep(0.2)  # polling what the other process wrote, with a deadline
    found = reader.search("airship regatta over Quxburg harbour", k=1)
    assert found and found[0].title == regatta.title and found[0].url == regatta.url
