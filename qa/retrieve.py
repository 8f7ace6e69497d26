"""Retrieval: dense (Chroma) and lexical (bm25s over folded terms) look-ups, fused by reciprocal rank.

Dense search meets paraphrase; lexical search over folded terms meets the exact names and their
other spellings (see ``qa.names``). Each ranks candidates; reciprocal rank fusion combines them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qa.embed import Encoder
from qa.index import ChromaStore, day_number
from qa.models import Copy, EventDate, Passage
from qa.names import fold_terms, fold_text

RRF_K = 60
#: Weight of the look-up with the question's folded spelling, beside the question itself and BM25
#: (tuned with `dateline eval` on RealTime QA: 1.0 cost 1 point of recall@5, 0.3 costs nothing).
FOLDED_WEIGHT = 0.3
#: With an as-of day, a passage published that day counts up to 1.5 times, fading with a 7-day scale.
RECENCY_BOOST = 0.5
RECENCY_DAYS = 7.0


@dataclass(frozen=True)
class Filters:
    """What a search may return: publication days (inclusive), sources, and an as-of day."""

    since: dt.date | None = None
    until: dt.date | None = None
    sources: tuple[str, ...] = ()
    as_of: dt.date | None = None

    @property
    def last_day(self) -> dt.date | None:
        days = [d for d in (self.until, self.as_of) if d is not None]
        return min(days) if days else None

    def where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.since:
            clauses.append({"published_day": {"$gte": day_number(self.since)}})
        if self.last_day:
            clauses.append({"published_day": {"$lte": day_number(self.last_day)}})
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def mask(self, published_days: np.ndarray, sources: np.ndarray) -> np.ndarray:
        """Which of the chunks (given their publication days, NaN when unknown, and sources) these filters admit."""
        admitted = np.ones(len(published_days), dtype=bool)
        if self.since:
            admitted &= published_days >= day_number(self.since)  # NaN compares False: unknown days are out
        if self.last_day:
            admitted &= published_days <= day_number(self.last_day)
        if self.sources:
            admitted &= np.isin(sources, list(self.sources))
        return admitted


@dataclass
class LexicalIndex:
    """BM25 over folded terms of every chunk, built from the store on first use."""

    chunk_ids: list[str] = field(default_factory=list)
    #: Per chunk, for filtering without touching the store: publication day (NaN if unknown) and source.
    published_days: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sources: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    document_frequency: dict[str, int] = field(default_factory=dict)
    bm25: Any = None

    def idf(self, term: str) -> float:
        """Inverse document frequency of a folded term; unseen terms weigh the most."""
        n = max(len(self.chunk_ids), 1)
        return math.log(1.0 + (n + 0.5) / (self.document_frequency.get(term, 0) + 0.5))

    @classmethod
    def build(cls, store: ChromaStore) -> LexicalIndex:
        import bm25s

        index = cls()
        corpus: list[list[str]] = []
        days: list[float] = []
        sources: list[str] = []
        for chunk_id, text, meta in store.iter_passages():
            index.chunk_ids.append(chunk_id)
            days.append(float(meta.get("published_day", math.nan)))
            sources.append(str(meta.get("source", "")))
            terms = fold_terms(text)
            corpus.append(terms)
            for term in set(terms):
                index.document_frequency[term] = index.document_frequency.get(term, 0) + 1
        index.published_days = np.asarray(days, dtype=np.float64)
        index.sources = np.asarray(sources, dtype=object)
        if corpus:
            index.bm25 = bm25s.BM25()
            index.bm25.index(corpus, show_progress=False)
        return index

    def search(self, query: str, n: int, filters: Filters) -> list[tuple[str, float]]:
        terms = [t for t in fold_terms(query) if t in self.document_frequency]
        if self.bm25 is None or not terms:
            return []
        mask = filters.mask(self.published_days, self.sources).astype(np.float32)
        if not mask.any():
            return []
        n = min(n, int(mask.sum()))
        docs, scores = self.bm25.retrieve([terms], k=n, weight_mask=mask, show_progress=False, n_threads=1)
        return [(self.chunk_ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


class Retriever:
    """Hybrid passage search over one store."""

    def __init__(self, store: ChromaStore, encoder: Encoder) -> None:
        self.store = store
        self.encoder = encoder
        self._lexical: LexicalIndex | None = None
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Forget the lexical index after the store changed; it is rebuilt on the next search."""
        with self._lock:
            self._lexical = None

    @property
    def lexical(self) -> LexicalIndex:
        with self._lock:
            if self._lexical is None:
                self._lexical = LexicalIndex.build(self.store)
            return self._lexical

    def search(self, query: str, k: int = 10, filters: Filters | None = None, depth: int | None = None) -> list[Passage]:
        """The ``k`` best passages for ``query`` among those ``filters`` admits, best first."""
        filters = filters or Filters()
        depth = depth or max(4 * k, 40)
        rankings: list[tuple[float, list[str]]] = []
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        folded = fold_text(query)
        texts = [query] + ([folded] if folded and folded != query.lower() else [])
        for weight, vector in zip((1.0, FOLDED_WEIGHT), self.encoder.encode(texts), strict=False):
            hits = self.store.query(vector, depth, filters.where())
            rankings.append((weight, [cid for cid, _, _, _ in hits]))
            found.update({cid: (doc, meta) for cid, doc, meta, _ in hits})
        lexical_hits = self.lexical.search(query, depth, filters)
        rankings.append((1.0, [cid for cid, _ in lexical_hits]))
        fused: dict[str, float] = {}
        for weight, ranking in rankings:
            for rank, cid in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + weight / (RRF_K + rank + 1)
        missing = [cid for cid in fused if cid not in found]
        if missing:
            found.update(self.store.get_passages(missing))
        if filters.as_of:
            # News asked "as of" a day is mostly about the days just before it.
            as_of = day_number(filters.as_of)
            for cid in fused:
                age = as_of - found[cid][1].get("published_day", as_of - 100_000) if cid in found else 100_000
                fused[cid] *= 1.0 + RECENCY_BOOST * math.exp(-max(age, 0) / RECENCY_DAYS)
        ordered = sorted(fused, key=lambda cid: -fused[cid])
        passages = self._committed([(cid, found[cid], fused[cid]) for cid in ordered if cid in found], 3 * k)
        return collapse_copies(passages)[:k]

    def _committed(self, hits: list[tuple[str, tuple[str, dict[str, Any]], float]], k: int) -> list[Passage]:
        """Only chunks whose article record carries their hash: half-written articles stay invisible."""
        hashes = self.store.committed_hashes([meta["article_id"] for _, (_, meta), _ in hits])
        passages = []
        for cid, (text, meta), score in hits:
            if hashes.get(meta["article_id"]) != meta.get("hash"):
                continue
            passages.append(
                Passage(
                    chunk_id=cid,
                    article_id=meta["article_id"],
                    url=meta.get("url", ""),
                    title=meta.get("title", ""),
                    source=meta.get("source", ""),
                    published=meta.get("published"),
                    text=text,
                    start=int(meta["start"]),
                    end=int(meta["end"]),
                    score=round(score, 6),
                    events=_events(meta, text),
                )
            )
            if len(passages) == k:
                break
        return passages


def _events(meta: dict[str, Any], text: str) -> list[EventDate]:
    offset = int(meta["start"])
    return [
        EventDate(date=dt.date.fromisoformat(day), precision=precision, start=start, end=end, text=text[start - offset : end - offset])
        for start, end, day, precision in json.loads(meta.get("events", "[]"))
    ]


#: Passages sharing this much of their word 5-grams are copies of one text (a wire story on two sites).
COPY_OVERLAP = 0.8


def shingles(text: str) -> set[tuple[str, ...]]:
    words = normalize_words(text)
    return {tuple(words[i : i + 5]) for i in range(max(len(words) - 4, 1))}


def normalize_words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def collapse_copies(passages: list[Passage]) -> list[Passage]:
    """Fold syndicated copies into the best-ranked passage, keeping each copy as a source.

    >>> a = Passage(chunk_id="a#0", article_id="a", text="Floods closed the port on Tuesday, officials said.", start=0, end=50)
    >>> b = a.model_copy(update={"chunk_id": "b#0", "article_id": "b"})
    >>> [(p.article_id, [c.article_id for c in p.copies]) for p in collapse_copies([a, b])]
    [('a', ['b'])]
    """
    kept: list[tuple[Passage, set[tuple[str, ...]]]] = []
    for passage in passages:
        grams = shingles(passage.text)
        for first, first_grams in kept:
            if first.article_id != passage.article_id and _overlap(grams, first_grams) >= COPY_OVERLAP:
                first.copies.append(
                    Copy(article_id=passage.article_id, url=passage.url, title=passage.title, source=passage.source,
                         published=passage.published, start=passage.start, end=passage.end, exact=passage.text == first.text)
                )  # fmt: skip
                break
        else:
            kept.append((passage, grams))
    return [passage for passage, _ in kept]


def _overlap(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0
