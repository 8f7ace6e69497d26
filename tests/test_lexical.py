"""The lexical index is saved beside the store and reused by the next process only while the store is unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import Archive, Article, retrieve
from qa.pipeline import IngestPipeline
from qa.retrieve import LEXICAL_FOLDER, Filters
from tests.conftest import CORPUS


def _reopen(path: Path) -> Archive:
    archive = Archive.open(path, create=False)
    archive.retriever.invalidate()  # forget what this process holds: as a new process would
    return archive


def test_saved_lexical_index_is_reused_and_searches_the_same(tmp_path: Path) -> None:
    archive = Archive.open(tmp_path / "index")
    archive.ingest([CORPUS / "iraq"])
    first = archive.retriever.lexical
    assert not first.loaded and (tmp_path / "index" / LEXICAL_FOLDER / "current.json").exists()
    again = _reopen(tmp_path / "index").retriever.lexical
    assert again.loaded
    assert again.chunk_ids == first.chunk_ids
    assert again.document_frequency == first.document_frequency
    assert list(again.published_days) == list(first.published_days)
    for query in ("al-Asad ballistic missiles", "Soleimani drone strike Baghdad"):
        assert again.search(query, 10, Filters()) == first.search(query, 10, Filters())


def test_a_changed_store_is_never_searched_with_a_stale_lexical_index(tmp_path: Path) -> None:
    archive = Archive.open(tmp_path / "index")
    archive.ingest([CORPUS / "iraq"])
    assert archive.retriever.lexical.search("quetzalcoatlus", 5, Filters()) == []
    # Written by the pipeline alone: an ingest goes on to make (and save) the indexes derived from the store.
    new = Article(id="new", title="Fossil find", published="2024-03-01", text="A quetzalcoatlus fossil was found near Mosul on Friday.")
    IngestPipeline(archive.store, archive.encoder, archive.settings).run([new])
    reopened = _reopen(tmp_path / "index").retriever.lexical
    assert not reopened.loaded  # the saved one predates the ingest
    assert [cid for cid, _ in reopened.search("quetzalcoatlus", 5, Filters())] == ["new#0"]
    assert _reopen(tmp_path / "index").retriever.lexical.loaded  # and the rebuilt one was saved


def test_a_damaged_saved_index_is_rebuilt(tmp_path: Path) -> None:
    archive = Archive.open(tmp_path / "index")
    archive.ingest([CORPUS / "iraq"])
    expected = archive.retriever.lexical.chunk_ids
    (tmp_path / "index" / LEXICAL_FOLDER / "current.json").write_text("{not json")
    rebuilt = _reopen(tmp_path / "index").retriever.lexical
    assert not rebuilt.loaded and rebuilt.chunk_ids == expected


def test_chunks_newer_than_the_lexical_index_are_found_and_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A date filter over a large index takes the nearest chunks unfiltered and filters them here;
    # thresholds at 0 make this small index take that path too.
    monkeypatch.setattr(retrieve, "EXACT_MAX", 0)
    monkeypatch.setattr(retrieve, "EXACT_PER_POOL_ID", 0)
    reader = Archive.open(tmp_path / "index")
    reader.ingest([CORPUS / "world"])
    lexical = reader.retriever.lexical
    writer = Archive.open(tmp_path / "index")  # another writer: the reader's lexical index does not know its chunks
    writer.ingest([Article(id="fair", title="Zeppelin fair", published="2024-05-02", text="A zeppelin fair opened in Quxville on Monday.")])
    assert reader.retriever.lexical is lexical and not any(c.startswith("fair#") for c in lexical.chunk_ids)
    read: list[str] = []
    get = reader.store.get_passages
    monkeypatch.setattr(reader.store, "get_passages", lambda ids: (read.extend(ids), get(ids))[1])
    found = reader.search("zeppelin fair in Quxville", k=3, since="2024-01-01", as_of="2024-06-01")
    assert found[0].article_id == "fair"  # admitted by the filter from its stored metadata
    assert read.count("fair#0") == 1  # for the filter, the recency prior and the text: one read
