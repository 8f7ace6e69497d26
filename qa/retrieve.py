"""Retrieval: dense (Chroma) and lexical (bm25s over folded terms) look-ups, fused by reciprocal rank.

Dense search meets paraphrase; lexical search over folded terms meets the exact names and their
other spellings (see ``qa.names``). Each ranks candidates; reciprocal rank fusion combines them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import math
import re
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from qa.embed import Encoder
from qa.index import ChromaStore, DerivedFolder, day_number, top_positions
from qa.models import Copy, EventDate, Passage
from qa.names import fold_terms, fold_text

RRF_K = 60
#: How often, at most, a search checks whether another process changed the store (see ``Retriever.lexical``).
FRESHNESS_SECONDS = 5.0
#: Sub-folder of the index where the lexical index is saved between processes.
LEXICAL_FOLDER = "lexical"
#: Weight of the look-up with the question's folded spelling, beside the question itself and BM25
#: (tuned with `dateline eval` on RealTime QA: 1.0 cost 1 point of recall@5, 0.3 costs nothing).
FOLDED_WEIGHT = 0.3
#: With an as-of day, a passage published that day counts up to 1.5 times, fading with a 7-day scale.
RECENCY_BOOST = 0.5
RECENCY_DAYS = 7.0
#: Dense look-ups with filters first read at least this many times the depth without them (see ``Retriever._dense``)...
OVERFETCH = 4
#: ...and at most this many ids (about 30 ms at 22,000 chunks); a narrower window is scored exactly (below).
MAX_POOL = 8000
#: A filtered dense look-up that admits at most this many chunks (or whose pool would pass
#: ``MAX_POOL``) scores each of them exactly, against the vectors kept beside the lexical index...
EXACT_MAX = 10_000
#: ...and so does one that admits at most this many times its pool: scoring a row costs about an
#: eighth of what reading an id through Chroma's vector index does (at 1,000,000 chunks, 17 ms
#: for 31,000 rows, 30 ms for a pool of 6,200; page cache warm, bench/query.py's index).
EXACT_PER_POOL_ID = 8


#: Chunks read from the store during one search, by id: text and metadata (see ``Retriever._read``).
Reads = dict[str, tuple[str, dict[str, Any]]]


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

    def admits(self, metadata: dict[str, Any]) -> bool:
        """Whether one chunk, by its stored metadata, passes these filters (``mask`` for a single chunk)."""
        day = metadata.get("published_day")
        days = np.asarray([day if isinstance(day, int) else math.nan], dtype=np.float64)
        return bool(self.mask(days, np.asarray([metadata.get("source")], dtype=object))[0])

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
    #: Each chunk's embedding, one row per chunk id (memory-mapped when loaded), for exact filtered
    #: look-ups; zeros for a chunk that had none yet (pending, see ``qa.index``)...
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    #: ...which this says: whether each row's vector was there when the index was built.
    embedded: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    document_frequency: dict[str, int] = field(default_factory=dict)
    bm25: Any = None
    #: Read from disk rather than built from the store.
    loaded: bool = False

    @cached_property
    def rows(self) -> dict[str, int]:
        """Row of each chunk id in the arrays below."""
        return {cid: row for row, cid in enumerate(self.chunk_ids)}

    def idf(self, term: str) -> float:
        """Inverse document frequency of a folded term; unseen terms weigh the most."""
        return self._idf(self.document_frequency.get(term, 0))

    def specificity(self, term: str) -> float:
        """``idf`` over its largest value (a term no chunk holds): near 0 for words in every chunk, 1 for the rarest."""
        return self.idf(term) / self._idf(0)

    def _idf(self, frequency: int) -> float:
        n = max(len(self.chunk_ids), 1)
        return math.log(1.0 + (n + 0.5) / (frequency + 0.5))

    @classmethod
    def build(cls, store: ChromaStore) -> LexicalIndex:
        import bm25s

        index = cls()
        corpus: list[list[str]] = []
        days: list[float] = []
        sources: list[str] = []
        vectors: list[np.ndarray] = []
        embedded: list[np.ndarray] = []
        for page in store.iter_pages(vectors=True):
            if page["embeddings"] is not None:
                vectors.append(np.asarray(page["embeddings"], dtype=np.float32))
                embedded.append(np.ones(len(page["ids"]), dtype=bool))
            else:  # pending: a zero row of the width found below
                vectors.append(np.zeros((len(page["ids"]), 0), dtype=np.float32))
                embedded.append(np.zeros(len(page["ids"]), dtype=bool))
            for chunk_id, text, meta in zip(page["ids"], page["documents"], page["metadatas"], strict=True):
                index.chunk_ids.append(chunk_id)
                days.append(float(meta.get("published_day", math.nan)))
                sources.append(str(meta.get("source", "")))
                terms = fold_terms(text)
                corpus.append(terms)
                for term in set(terms):
                    index.document_frequency[term] = index.document_frequency.get(term, 0) + 1
        index.published_days = np.asarray(days, dtype=np.float64)
        index.sources = np.asarray(sources, dtype=object)
        if vectors:
            width = max(v.shape[1] for v in vectors)  # 0 when no chunk is embedded yet
            index.vectors = np.concatenate([v if v.shape[1] == width else np.zeros((len(v), width), np.float32) for v in vectors])
            index.embedded = np.concatenate(embedded)
        if corpus:
            index.bm25 = bm25s.BM25()
            index.bm25.index(corpus, show_progress=False)
        return index

    def save(self, folder: Path, generation: int, chunks: int) -> None:
        """Write the index under ``folder/lexical`` for the store's ``generation`` and chunk count.

        Files go to a new sub-folder and a pointer file is replaced atomically after them, so a
        reader sees the old index or the new one, never half of one.
        """
        saved = DerivedFolder(folder / LEXICAL_FOLDER)
        target = saved.new(generation)
        if self.bm25 is not None:
            self.bm25.save(str(target / "bm25"), show_progress=False)
        np.save(target / "published_days.npy", self.published_days)
        np.save(target / "vectors.npy", self.vectors)
        np.save(target / "embedded.npy", self.embedded)
        (target / "terms.json").write_text(
            json.dumps({"chunk_ids": self.chunk_ids, "sources": self.sources.tolist(), "document_frequency": self.document_frequency})
        )
        saved.publish(target, {"generation": generation, "chunks": chunks})

    @classmethod
    def load(cls, folder: Path, generation: int, chunks: int) -> LexicalIndex | None:
        """The index saved for exactly this generation and chunk count, or None."""
        import bm25s

        source = DerivedFolder(folder / LEXICAL_FOLDER).current({"generation": generation, "chunks": chunks})
        if source is None:
            return None
        try:
            terms = json.loads((source / "terms.json").read_text())
            index = cls(chunk_ids=terms["chunk_ids"], document_frequency=terms["document_frequency"])
            index.sources = np.asarray(terms["sources"], dtype=object)
            index.published_days = np.load(source / "published_days.npy")
            index.vectors = np.load(source / "vectors.npy", mmap_mode="r")  # pages are read as look-ups reach them
            index.embedded = np.load(source / "embedded.npy")
            if (source / "bm25").exists():
                index.bm25 = bm25s.BM25.load(str(source / "bm25"), show_progress=False)
        except (OSError, ValueError, KeyError):
            return None  # absent, being replaced, or damaged: rebuilt from the store
        index.loaded = True
        return index

    def search(self, query: str, n: int, filters: Filters, admitted: np.ndarray | None = None) -> list[tuple[str, float]]:
        """BM25 hits among the chunks ``filters`` admit (``admitted``: that mask, when the caller has it)."""
        terms = [t for t in fold_terms(query) if t in self.document_frequency]
        if self.bm25 is None or not terms:
            return []
        mask = (filters.mask(self.published_days, self.sources) if admitted is None else admitted).astype(np.float32)
        if not mask.any():
            return []
        scores = self.bm25.get_scores(terms, weight_mask=mask)
        # Our own top-k (``top_positions``), not bm25s's.
        return [(self.chunk_ids[int(d)], float(scores[d])) for d in top_positions(scores, min(n, int(mask.sum()))) if scores[d] > 0]


class Retriever:
    """Hybrid passage search over one store."""

    def __init__(self, store: ChromaStore, encoder: Encoder) -> None:
        self.store = store
        self.encoder = encoder
        self._lexical: LexicalIndex | None = None
        #: The store's (generation, chunk count) the lexical index was made for, and when that was last compared.
        self._version: tuple[int, int] | None = None
        self._checked = 0.0
        self._refreshing = False
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Forget the lexical index after the store changed; it is rebuilt on the next search."""
        with self._lock:
            self._lexical = None
            self._version = None

    def refresh(self) -> None:
        """Make the lexical index for the store as it is now in the calling thread, and put it in
        place of the one in use, which keeps answering meanwhile (after a fill in the background)."""
        with self._lock:
            old = self._version
        self._refreshing = True
        self._refresh(old, self.store_version())
        with self._lock:
            if self._version != self.store_version():
                self._lexical, self._version = None, None  # replaced meanwhile: made on the next search

    @property
    def lexical(self) -> LexicalIndex:
        """The lexical index: loaded if one was saved for the store as it is now, else built and saved.

        In server mode other processes write to the same collections (``dateline ingest
        --chroma-url`` beside ``dateline serve --chroma-url``). There, at most every
        ``FRESHNESS_SECONDS``, a search compares the store's version with the index's; when they
        differ, a new index is built in a background thread while searches go on with the old one,
        and replaces it when ready. (An embedded index is not shared between processes this way;
        see ``ChromaStore.remote``.)
        """
        with self._lock:
            if self._lexical is None:
                version = self.store_version()
                self._lexical, self._version = self._load_or_build(version), version
                self._checked = time.monotonic()
            elif self.store.remote and not self._refreshing and time.monotonic() - self._checked >= FRESHNESS_SECONDS:
                self._checked = time.monotonic()
                version = self.store_version()
                if version != self._version:
                    self._refreshing = True
                    threading.Thread(target=self._refresh, args=(self._version, version), name="dateline-lexical", daemon=True).start()
            return self._lexical

    @property
    def version(self) -> tuple[int, int]:
        """The store's (generation, chunk count) the lexical index in use was made for."""
        self.lexical  # noqa: B018 -- loads or builds it first
        assert self._version is not None
        return self._version

    def store_version(self) -> tuple[int, int]:
        """The store's (generation, chunk count) now, whatever the lexical index in use was made for."""
        return self.store.sentences.generation(), self.store.passages.count() + self.store.pending_count()

    def _load_or_build(self, version: tuple[int, int]) -> LexicalIndex:
        folder = self.store.derived_folder
        index = LexicalIndex.load(folder, *version) if folder else None
        if index is None:
            index = LexicalIndex.build(self.store)
            if folder:
                with contextlib.suppress(OSError):  # a read-only index still answers; it rebuilds the next time
                    index.save(folder, *version)
        return index

    def _refresh(self, old: tuple[int, int] | None, version: tuple[int, int]) -> None:
        """Make the index for ``version`` and put it in place of the one for ``old``, unless that was replaced meanwhile."""
        try:
            index: LexicalIndex | None = self._load_or_build(version)
        except Exception as exc:  # the old index keeps answering; the next check tries again
            logging.getLogger(__name__).warning("could not refresh the lexical index of %s: %s", self.store.location, exc)
            index = None
        with self._lock:
            if index is not None and self._lexical is not None and self._version == old:
                self._lexical, self._version = index, version
            self._refreshing = False

    def search(self, query: str, k: int = 10, filters: Filters | None = None, depth: int | None = None) -> list[Passage]:
        """The ``k`` best passages for ``query`` among those ``filters`` admits, best first.

        Look-ups move only chunk ids and scores; filters and the recency prior read publication
        days from the lexical index's arrays, and texts are read once, for the fused top.
        """
        filters = filters or Filters()
        depth = depth or max(4 * k, 40)
        lexical = self.lexical
        read: Reads = {}  # each chunk is read from the store once in a search
        admitted = filters.mask(lexical.published_days, lexical.sources) if filters.where() else None
        rankings: list[tuple[float, list[str]]] = []
        folded = fold_text(query)
        texts = [query] + ([folded] if folded and folded != query.lower() else [])
        for weight, vector in zip((1.0, FOLDED_WEIGHT), self.encoder.encode_queries(texts), strict=False):
            rankings.append((weight, self._dense(lexical, vector, depth, filters, admitted, read)))
        rankings.append((1.0, [cid for cid, _ in lexical.search(query, depth, filters, admitted)]))
        fused: dict[str, float] = {}
        for weight, ranking in rankings:
            for rank, cid in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + weight / (RRF_K + rank + 1)
        if filters.as_of:
            # News asked "as of" a day is mostly about the days just before it.
            as_of = day_number(filters.as_of)
            days = self._published_days(lexical, list(fused), read)
            for cid in fused:
                age = as_of - days[cid] if not math.isnan(days[cid]) else 100_000
                fused[cid] *= 1.0 + RECENCY_BOOST * math.exp(-max(age, 0) / RECENCY_DAYS)
        ordered = sorted(fused, key=lambda cid: -fused[cid])
        passages: list[Passage] = []
        # Read texts page by page until 3k committed passages are found (uncommitted ones are skipped).
        for i in range(0, len(ordered), 3 * k):
            page = ordered[i : i + 3 * k]
            found = self._read(page, read)
            passages += self._committed([(cid, found[cid], fused[cid]) for cid in page if cid in found], 3 * k - len(passages))
            if len(passages) >= 3 * k:
                break
        return collapse_copies(passages)[:k]

    def passages(self, chunk_ids: list[str], k: int) -> list[Passage]:
        """The committed chunks among ``chunk_ids`` as passages, in that order, copies collapsed, ``k`` at most."""
        wanted = list(dict.fromkeys(chunk_ids))[: 3 * k]
        found = self._read(wanted, {})
        return collapse_copies(self._committed([(cid, found[cid], 0.0) for cid in wanted if cid in found], 3 * k))[:k]

    def _dense(
        self,
        lexical: LexicalIndex,
        vector: np.ndarray,
        depth: int,
        filters: Filters,
        admitted: np.ndarray | None,
        read: Reads | None = None,
    ) -> list[str]:
        """Ids of the nearest chunks that pass ``filters`` (``admitted``: their mask over ``lexical``'s rows).

        Chroma's filtered query reads the metadata of the whole window and grows with the index
        (0.4 s at 100,000 chunks), and an unfiltered look-up of a few thousand ids takes tens of
        milliseconds. So a wide window reads the nearest ``4 * depth / share`` chunks unfiltered
        (``share``: the part of the index the filters admit, known from the lexical index's arrays)
        and filters them here. A window of at most ``EXACT_MAX`` chunks or ``EXACT_PER_POOL_ID``
        times its pool, or so narrow that the pool would pass ``MAX_POOL``, is scored exactly
        against the vectors saved beside the lexical index, and so is any window whose pool held
        too few; Chroma filters only when there are no saved vectors to score. Chunks written by another process since the lexical
        index was built are found by the pool and by Chroma's filter, not by the exact look-up
        (in server mode the lexical index is rebuilt within seconds of such writes).
        """
        if admitted is None:
            return [cid for cid, _ in self.store.query_ids(vector, depth, None)]
        count = int(admitted.sum())
        pool_size = max(depth * OVERFETCH, math.ceil(4 * depth * len(admitted) / count)) if count else 0
        exact = len(lexical.vectors) == len(admitted) and lexical.vectors.shape[1] > 0
        if exact and (count <= max(EXACT_MAX, EXACT_PER_POOL_ID * pool_size) or pool_size > MAX_POOL):
            return self._exact(lexical, vector, depth, admitted)
        if 0 < pool_size <= MAX_POOL:
            pool = self.store.query_ids(vector, pool_size, None)
            rows = lexical.rows
            unknown = [cid for cid, _ in pool if cid not in rows]  # written since the lexical index was built
            extra = {cid: filters.admits(meta) for cid, (_, meta) in self._read(unknown, {} if read is None else read).items()}
            kept = [cid for cid, _ in pool if (admitted[rows[cid]] if cid in rows else extra.get(cid, False))]
            if len(kept) >= depth or len(pool) < pool_size:
                return kept[:depth]
        if exact:
            # The pool fell short: scoring the window costs what it holds (tens of ms), Chroma's
            # filter what the whole index holds (2.7 s at 1,000,000 chunks).
            return self._exact(lexical, vector, depth, admitted)
        return [cid for cid, _ in self.store.query_ids(vector, depth, filters.where())]

    @staticmethod
    def _exact(lexical: LexicalIndex, vector: np.ndarray, depth: int, admitted: np.ndarray) -> list[str]:
        """The ``depth`` admitted chunks nearest ``vector``, each scored against its saved vector
        (chunks without one are left to the lexical look-up)."""
        candidates = np.flatnonzero(admitted & lexical.embedded)
        return [lexical.chunk_ids[int(candidates[i])] for i in top_positions(lexical.vectors[candidates] @ vector, depth)]

    def _published_days(self, lexical: LexicalIndex, chunk_ids: list[str], read: Reads) -> dict[str, float]:
        days = {cid: float(lexical.published_days[lexical.rows[cid]]) for cid in chunk_ids if cid in lexical.rows}
        unknown = [cid for cid in chunk_ids if cid not in days]
        for cid, (_, meta) in self._read(unknown, read).items():
            days[cid] = float(meta.get("published_day", math.nan))
        return {cid: days.get(cid, math.nan) for cid in chunk_ids}

    def _read(self, chunk_ids: list[str], read: Reads) -> Reads:
        """Text and metadata of the chunks among ``chunk_ids`` that exist, from the store only for
        those not already in ``read`` (a search's reads: a chunk written since the lexical index
        was built is looked at by the filter, the recency prior and the final read)."""
        missing = [cid for cid in chunk_ids if cid not in read]
        if missing:
            read.update(self.store.get_passages(missing))
        return {cid: read[cid] for cid in chunk_ids if cid in read}

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
    if len(words) < 5:
        return {tuple(words)}
    return set(zip(words, words[1:], words[2:], words[3:], words[4:], strict=False))  # faster than slicing each


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
                first.copies.append(Copy(**passage.located(), exact=passage.text == first.text))
                break
        else:
            kept.append((passage, grams))
    return [passage for passage, _ in kept]


def _overlap(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0
