"""Event sentences encoded on their own, filled in behind the chunks' vectors.

An event record's pooled vector (``qa.sentence_vectors``) is its sentence read inside its chunk:
free at ingest, but it carries its neighbours' meaning. Choosing among the reports of many days
needs what each sentence says by itself. Encoding every candidate's sentence at question time costs
seconds, so only the best report of each of 16 days was. On the when set (docs/when.md), every
candidate scored with its sentence's own vector answered 41 of 55 against 40, and its timelines
reached precision 0.882 and recall 0.714 against 0.824 and 0.667.

So once the chunks have their vectors, every distinct sentence of the event index is encoded once
and kept in ``sentences.sqlite3`` by its text's hash (a syndicated copy's sentences share one).
Questions use whatever is there; a sentence not yet encoded is scored as before, the best of each
day encoded on the spot. Batches are committed whole; Ctrl-C stops after the batch in hand, and the
next run continues with what is left.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.embed import Encoder
from qa.index import text_hash
from qa.pipeline import _DONE, Progress, _Stages
from qa.sentence_vectors import SentenceVectorStore

#: Sentences encoded and committed together.
SENTENCE_BATCH = 256


def sentence_key(sentence: str) -> str:
    """The key a sentence's own vector is stored under: its text's hash, surrounding blanks ignored."""
    return text_hash(sentence.strip())


@dataclass
class SentenceFillReport:
    """What one fill of event sentences did: how many it encoded, how many are left (after an interruption)."""

    encoded: int = 0
    pending: int = 0
    seconds: float = 0.0
    interrupted: bool = False


class SentenceFill(_Stages):
    """Encode each of ``sentences`` not yet stored, in batches; runs to the end or to Ctrl-C."""

    def __init__(self, store: SentenceVectorStore, encoder: Encoder) -> None:
        super().__init__()
        self.store = store
        self.encoder = encoder
        self.report = SentenceFillReport()
        self._progress: Progress | None = None
        self._total = 0

    def run(self, sentences: Sequence[str], progress: Progress | None = None) -> SentenceFillReport:
        started = time.perf_counter()
        texts = {sentence_key(s): s.strip() for s in sentences}
        stored = self.store.has_own(list(texts))
        # Longest first: batches of like lengths pad little, and the ETA errs long, not short.
        todo = sorted((k for k in texts if k not in stored), key=lambda k: -len(texts[k]))
        self._progress, self._total = progress, len(todo)
        batches = [[(k, texts[k]) for k in todo[i : i + SENTENCE_BATCH]] for i in range(0, len(todo), SENTENCE_BATCH)]
        if batches:
            finished = self._stages(lambda out: self._produce(batches, out), self._encode, self._write)
            self.report.interrupted = self._interrupted.is_set() and not finished
        self.report.pending = len(todo) - self.report.encoded
        self.report.seconds = round(time.perf_counter() - started, 3)
        return self.report

    def _produce(self, batches: list[list[tuple[str, str]]], out: queue.Queue[object]) -> None:
        for batch in batches:
            if self._stop.is_set():
                break
            out.put(_Batch(batch))
        out.put(_DONE)

    def _encode(self, batch: _Batch) -> None:
        batch.vectors = self.encoder.encode([text for _, text in batch.items])

    def _write(self, batch: _Batch) -> None:
        assert batch.vectors is not None
        self.store.put_own(zip((key for key, _ in batch.items), batch.vectors, strict=True))
        self.report.encoded += len(batch.items)
        if self._progress:
            self._progress("sentences", len(batch.items), self._total)


@dataclass
class _Batch:
    items: list[tuple[str, str]]
    vectors: np.ndarray | None = None


def own_similarities(store: SentenceVectorStore, sentences: Sequence[str], vector: np.ndarray) -> dict[str, float]:
    """Cosine to ``vector`` of each of ``sentences`` whose own vector is stored (the rest are left out)."""
    keys = {s: sentence_key(s) for s in sentences}
    found = store.get_own(list(set(keys.values())))
    return {s: float(found[k] @ vector) for s, k in keys.items() if k in found}
