"""Lexical-first ingest: articles searchable by words before their vectors exist, vectors filled
in behind (``qa.pipeline``), every state in between consistent and said so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from qa import Archive, Article
from qa.event_vectors import sentence_key
from tests.conftest import CORPUS, HEADLINE
from tests.test_cli import DATELINE, run
from tests.test_crash import ARCHIVE, _consistent, needs_shared, wait_for_sentences_db
from tests.test_crash import batch as batch  # the fixture, shared


@pytest.fixture(scope="module")
def lexical_only(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    archive = Archive.open(tmp_path_factory.mktemp("lexical") / "index")
    report = archive.ingest([CORPUS], embed=False)
    assert report.pending == report.chunks > 0 and report.embedded == 0
    assert (archive.store.derived_folder / "lexical" / "current.json").exists()  # type: ignore[operator]  # made by the ingest
    return archive


def test_without_vectors_the_archive_answers_by_words_and_says_so(lexical_only: Archive, corpus_archive: Archive) -> None:
    stats = lexical_only.stats()
    assert stats.embedded == 0 and stats.embedded_share == 0.0 and stats.chunks == corpus_archive.stats().chunks
    assert lexical_only.store.passages.count() == 0  # nothing in the vector index yet
    hits = lexical_only.search("Al Asad air base ballistic missiles", k=5)
    assert hits and any("Asad" in p.text for p in hits[:3])
    answer = lexical_only.ask(HEADLINE)
    assert answer.embedded_share == 0.0
    assert answer.date == corpus_archive.ask(HEADLINE).date  # dated events are found by words too
    assert answer.citations and answer.citations[0].quote in lexical_only.article(answer.citations[0].article_id).text  # type: ignore[union-attr]
    assert corpus_archive.ask(HEADLINE).embedded_share == 1.0


def test_the_fill_gives_every_chunk_its_vector_and_the_same_answers(tmp_path: Path, corpus_archive: Archive) -> None:
    archive = Archive.open(tmp_path / "index")
    archive.ingest([CORPUS], embed=False)
    fill = archive.embed()
    stats = archive.stats()
    assert fill.embedded == stats.chunks == stats.embedded and fill.pending == 0
    assert archive.verify() == []
    assert archive.embed().embedded == 0  # nothing left to do
    question = "Who won the election?"
    assert [p.chunk_id for p in archive.search(question, k=5)] == [p.chunk_id for p in corpus_archive.search(question, k=5)]
    assert archive.ask(HEADLINE).model_dump() == corpus_archive.ask(HEADLINE).model_dump()
    assert archive.stats().encoder == archive.encoder.name


def test_identical_texts_are_encoded_once(tmp_path: Path) -> None:
    text = "Floods closed the port of Basra on Tuesday, 4 March 2025, officials said. Ships waited offshore for two days."
    articles = [Article(id=f"copy-{i}", title="Port closed", source=f"site{i}", text=text, published="2025-03-05") for i in range(5)]
    archive = Archive.open(tmp_path / "index")
    report = archive.ingest(articles)
    assert report.embedded == 5 and report.encoded == 1
    report = archive.ingest([articles[0].model_copy(update={"id": "copy-5"})])
    assert report.embedded == 1 and report.encoded == 0  # its vector is read back from the index


def test_an_article_replaced_while_pending_keeps_only_its_new_chunks(tmp_path: Path) -> None:
    first = Article(id="a", title="Storm", text="A storm hit the coast on 2 May 2025. " * 3, published="2025-05-03")
    archive = Archive.open(tmp_path / "index")
    archive.ingest([first], embed=False)
    pending = archive.store.get_pending(archive.store.pending_ids())
    second = first.model_copy(update={"text": "A storm hit the harbour on 3 May 2025, and ferries stopped."})
    archive.ingest([second], embed=False)
    archive.store.fill(pending, archive.encoder.encode([text for _, text, _ in pending]))  # a fill holding the old version
    assert archive.store.passages.count() == 0  # the old chunks were not brought back
    archive.embed()
    assert archive.verify() == []
    assert [p.text for p in archive.search("storm harbour ferries", k=3)] == [second.text]


@needs_shared(ARCHIVE)
def test_ctrl_c_in_the_fill_leaves_a_searchable_archive_and_the_next_ingest_finishes(batch: Path, tmp_path: Path) -> None:
    assert DATELINE
    index = tmp_path / "index"
    command = [DATELINE, "ingest", str(batch), "--index", str(index), "--json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ, "DATELINE_BATCH_CHUNKS": "16"})
    # The fill writes a batch's sentence vectors before its chunks: the first row means it has begun.
    wait_for_sentences_db(index, process, "SELECT COUNT(*) FROM sentence_vectors", "any vector was written")
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 130
    report = json.loads(out)
    assert report["interrupted"] is True and report["pending"] > 0
    stats = json.loads(run("stats", "--index", str(index), "--json").stdout)
    assert stats["articles"] == report["articles_added"]  # the read phase was complete
    assert 0 < stats["embedded"] < stats["chunks"] and stats["embedded"] + report["pending"] == stats["chunks"]
    _consistent(index)
    final = json.loads(run("ingest", str(batch), "--index", str(index), "--json").stdout)
    assert final["articles_skipped"] == report["articles_added"] and final["embedded"] == report["pending"] and final["pending"] == 0
    stats = json.loads(run("stats", "--index", str(index), "--json").stdout)
    assert stats["embedded"] == stats["chunks"]
    assert Archive.open(index, create=False).verify() == []


def _chunk_table(archive: Archive) -> list[tuple[str, str, str]]:
    return sorted((cid, text, json.dumps(meta, sort_keys=True)) for cid, text, meta in archive.store.iter_passages())


def test_worker_processes_chunk_and_date_exactly_as_the_calling_process(
    tmp_path: Path, corpus_archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qa.pipeline

    monkeypatch.setattr(qa.pipeline, "PARALLEL_AFTER", 0)  # every group to the workers
    monkeypatch.setattr(qa.pipeline, "GROUP", 4)
    archive = Archive.open(tmp_path / "index")
    archive.ingest([CORPUS])
    assert _chunk_table(archive) == _chunk_table(corpus_archive)


def test_a_worker_that_dies_leaves_its_work_to_the_calling_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import qa.chunk_worker
    import qa.pipeline

    monkeypatch.setattr(qa.pipeline, "PARALLEL_AFTER", 0)
    start = qa.chunk_worker.ChunkWorkers._start

    def broken(self: qa.chunk_worker.ChunkWorkers) -> None:
        self.command = [*self.command[:3], str(tmp_path / "no-model"), *self.command[4:]]  # the worker fails on start
        start(self)

    monkeypatch.setattr(qa.chunk_worker.ChunkWorkers, "_start", broken)
    archive = Archive.open(tmp_path / "index")
    report = archive.ingest([CORPUS / "iraq"], embed=False)
    assert report.chunks > 0 and not report.errors
    assert archive.stats().chunks == report.chunks and archive.verify() == []


def test_an_index_records_its_encoder_and_is_queried_the_same_way(tmp_path: Path) -> None:
    from qa import DatelineError, Settings

    index = tmp_path / "index"
    built = Archive.open(index, settings=Settings(encoder_precision="int8"))
    built.ingest([CORPUS / "iraq"])
    assert built.stats().encoder == f"{built.encoder.name}" and built.encoder.name.endswith(" int8")
    # No precision asked for (whatever DATELINE_ENCODER_PRECISION says): the recorded one.
    reopened = Archive.open(index, settings=Settings(encoder_precision="auto"))
    assert reopened.encoder.precision == "int8"
    assert reopened.ask(HEADLINE).date == "2024-01-20"
    with pytest.raises(DatelineError, match="int8"):
        Archive.open(index, settings=Settings(encoder_precision="float32")).ingest([CORPUS / "iraq"])
    # float32 and bfloat16 vectors compare (cosine 0.9999): either may add to the other's index.
    mixed = Archive.open(tmp_path / "other", settings=Settings(encoder_precision="float32"))
    mixed.ingest([CORPUS / "iraq"], embed=False)
    assert Archive.open(tmp_path / "other", settings=Settings(encoder_precision="bfloat16")).embed().pending == 0


def test_the_app_fills_vectors_in_the_background_while_it_answers(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api import create_app

    archive = Archive.open(tmp_path / "index")
    archive.ingest([CORPUS], embed=False)
    with TestClient(create_app(archive, fill=True)) as client:
        during = client.post("/v1/ask", json={"question": HEADLINE}).json()
        assert during["date"] == "2024-01-20"  # answered meanwhile, whatever the fill has done
        fill = client.app.state.fill  # type: ignore[attr-defined]
        assert fill is not None
        fill.join(300)  # waits for the work, not for a guessed time
        assert fill.report is not None and fill.report.pending == 0
        # Then each event sentence encoded on its own, in the same thread.
        assert fill.report.sentences > 0 and fill.report.sentences_pending == 0
        assert archive.store.sentences.count_own() == len({sentence_key(s) for s in archive.events.sentences()})
        stats = client.get("/v1/stats").json()
        assert stats["embedded"] == stats["chunks"] and stats["embedded_share"] == 1.0
        after = client.post("/v1/ask", json={"question": HEADLINE}).json()
        assert after["date"] == "2024-01-20" and after["embedded_share"] == 1.0
    assert archive.verify() == []


def test_stopping_the_app_stops_the_fill_leaving_each_chunk_embedded_or_pending(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api import create_app
    from qa import Settings

    archive = Archive.open(tmp_path / "index", settings=Settings(batch_chunks=4))
    archive.ingest([CORPUS], embed=False)
    with TestClient(create_app(archive, fill=True)) as client:
        fill = client.app.state.fill  # type: ignore[attr-defined]
    assert not fill.running  # stopped with the app
    stats = archive.stats()
    assert stats.embedded + archive.store.pending_count() == stats.chunks
    assert archive.verify() == []
    assert archive.embed().pending == 0  # the next fill finishes it
