"""Event sentences encoded on their own after the chunks, kept, resumed, and used by when-questions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa import Archive
from qa import event_vectors as event_vectors_module
from qa.answer import plain_question, read_intent
from qa.event_vectors import SentenceFill, sentence_key
from qa.events import event_sentences
from qa.ingest import read_paths
from qa.retrieve import Filters
from tests.conftest import CORPUS, HEADLINE


def test_ingest_encodes_every_event_sentence_on_its_own(corpus_archive: Archive) -> None:
    sentences = corpus_archive.events.sentences()
    keys = [sentence_key(s) for s in sentences]
    stored = corpus_archive.store.sentences.get_own(keys)
    assert sentences and set(stored) == set(keys)
    sample = sentences[:: max(len(sentences) // 20, 1)]
    fresh = corpus_archive.encoder.encode(sample)
    for sentence, vector in zip(sample, fresh, strict=True):
        assert float(stored[sentence_key(sentence)] @ vector) > 0.995  # int8 on disk, float32 here


def test_the_sentences_read_from_the_store_are_the_event_index_s(corpus_archive: Archive) -> None:
    # What the fill encodes without building the index is exactly what the index holds.
    assert sorted(event_sentences(corpus_archive.store)) == sorted(corpus_archive.events.sentences())


def test_an_interrupted_sentence_fill_continues_where_it_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = Archive.open(tmp_path / "index")
    articles = list(read_paths(sorted(CORPUS.rglob("*.md"))[:6]))
    report = archive.ingest(articles, embed=False)
    assert report.pending and not report.sentences
    monkeypatch.setattr(event_vectors_module, "SENTENCE_BATCH", 4)
    fill = archive.embed(sentences=False)
    assert fill.pending == 0 and fill.sentences == 0
    total = len({sentence_key(s) for s in archive.events.sentences()})
    assert total > 8

    first = SentenceFill(archive.store.sentences, archive.encoder)
    # Ctrl-C as the first batch is written: that batch is committed whole, the rest wait.
    stopped = archive.encode_event_sentences(lambda phase, done, all_: first.interrupt(), fill=first)
    assert stopped.interrupted and 0 < stopped.encoded < total and stopped.pending == total - stopped.encoded
    assert archive.store.sentences.count_own() == stopped.encoded

    rest = archive.encode_event_sentences()
    assert not rest.interrupted and rest.encoded == total - stopped.encoded and rest.pending == 0
    assert archive.store.sentences.count_own() == total
    assert archive.encode_event_sentences().encoded == 0


def test_a_when_question_reads_stored_sentences_instead_of_encoding_them(corpus_archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    question = plain_question(HEADLINE)
    intent = read_intent(question)
    encoder = corpus_archive.encoder
    encoded: list[str] = []
    real_encode = encoder.encode

    def counting(texts: list[str]) -> np.ndarray:
        encoded.extend(texts)
        return real_encode(texts)

    monkeypatch.setattr(encoder, "encode", counting)
    groups = corpus_archive.dated_events(question, intent, Filters())
    assert groups
    assert set(encoded) <= {question}  # the question at most; no sentence of the archive

    monkeypatch.setattr(corpus_archive.store.sentences, "get_own", lambda hashes: {})  # as if none were stored yet
    encoded.clear()
    fallback = corpus_archive.dated_events(question, intent, Filters())
    assert len(set(encoded) - {question}) > 0  # the best of each day are encoded on the spot
    assert {g.day for g in fallback} == {g.day for g in groups}
