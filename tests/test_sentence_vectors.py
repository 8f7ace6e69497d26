"""Sentence vectors pooled at ingest: stored for every chunk text, equal to recomputing them, and
refilled the same way for an index that lacks them; filtered dense search without Chroma's filter."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa import Archive, retrieve
from qa.chunk import split_sentences
from qa.index import text_hash
from qa.retrieve import OVERFETCH, Filters
from tests.conftest import CORPUS, HEADLINE


@pytest.fixture
def iraq_archive(tmp_path: Path) -> Archive:
    archive = Archive.open(tmp_path / "index")
    archive.ingest([CORPUS / "iraq", CORPUS / "world"])
    return archive


def _chunk_texts(archive: Archive) -> dict[str, str]:
    return {text_hash(text): text for _, text, _ in archive.store.iter_passages()}


def test_every_chunk_text_has_its_sentences_stored_once(iraq_archive: Archive) -> None:
    texts = _chunk_texts(iraq_archive)
    stored = iraq_archive.store.sentences.get(list(texts))
    assert set(stored) == set(texts)
    assert iraq_archive.store.sentences.count() == len(texts)
    for key, text in texts.items():
        spans = split_sentences(text)
        assert stored[key].starts.tolist() == [s for s, _ in spans]
        assert stored[key].ends.tolist() == [e for _, e in spans]
        assert np.allclose(np.linalg.norm(stored[key].vectors, axis=1), 1.0, atol=1e-4)


def test_stored_vectors_equal_recomputed_ones_and_the_passage_vector_is_unchanged(iraq_archive: Archive) -> None:
    texts = _chunk_texts(iraq_archive)
    keys = list(texts)[:6]
    passages, computed = iraq_archive.encoder.encode_passages([texts[k] for k in keys])
    # The same vector as ``encode``: in float32 to rounding; in bfloat16 the padding (passages and
    # sentences are padded to different widths) moves it by rounding too, but a coarser one.
    cosines = np.sum(passages * iraq_archive.encoder.encode([texts[k] for k in keys]), axis=1)
    assert cosines.min() > (1 - 1e-6 if iraq_archive.encoder.precision == "float32" else 0.9995)
    stored = iraq_archive.store.sentences.get(keys)
    for key, fresh in zip(keys, computed, strict=True):
        cosines = np.sum(stored[key].vectors * fresh.vectors, axis=1)
        assert cosines.min() > 0.995  # int8 storage costs about 1e-3 of cosine


def test_an_index_without_sentence_vectors_answers_the_same_and_refills_them(iraq_archive: Archive, tmp_path: Path) -> None:
    before = iraq_archive.ask(HEADLINE)
    copy = tmp_path / "copy"
    iraq_archive.store.sentences.close()
    shutil.copytree(iraq_archive.settings.index, copy)
    for name in ("sentences.sqlite3", "sentences.sqlite3-wal", "sentences.sqlite3-shm"):
        (copy / name).unlink(missing_ok=True)
    bare = Archive.open(copy, create=False)
    assert bare.store.sentences.count() == 0
    after = bare.ask(HEADLINE)
    assert after.date == before.date == "2024-01-20"
    assert [c.quote for c in after.citations] == [c.quote for c in before.citations]
    assert bare.store.sentences.count() > 0


@pytest.mark.parametrize("exact_max", [retrieve.EXACT_MAX, 0], ids=["exact", "pool"])
def test_filtered_dense_search_equals_chromas_own_filter(iraq_archive: Archive, exact_max: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retrieve, "EXACT_MAX", exact_max)  # 0: every window is read through a pool from Chroma
    if not exact_max:
        monkeypatch.setattr(retrieve, "EXACT_PER_POOL_ID", 0)
    retriever = iraq_archive.retriever
    vector = iraq_archive.encoder.encode([HEADLINE])[0]
    lexical = retriever.lexical
    days = sorted({int(d) for d in lexical.published_days})
    cases = [
        Filters(until=_day(days[len(days) // 2])),
        Filters(since=_day(days[-3])),
        Filters(sources=(str(lexical.sources[0]),)),
    ]
    for filters in cases:
        admitted = filters.mask(lexical.published_days, lexical.sources)
        for depth in (2, 5, 40):  # through the pool, small depths make it too short: the window is then scored exactly
            ours = retriever._dense(lexical, vector, depth, filters, admitted)
            theirs = [cid for cid, _ in iraq_archive.store.query_ids(vector, depth, filters.where())]
            assert ours == theirs, (filters, depth)
            assert len(ours) == min(depth, int(admitted.sum()))
    assert OVERFETCH > 1


def _day(number: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=number)
