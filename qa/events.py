"""The event index: every dated statement of the archive, searchable by meaning and words with day filters.

"When did X last happen" is answered from all the occurrences of X in the archive, not from the
few passages a search ranks first: the latest strike may be told in a report that ranks twentieth.
So every sentence whose date resolves becomes a record (its day and precision, the verbatim span
that states the date, the sentence that names the event, its article), and a question searches
those records directly: by the meaning of the sentence (its vector pooled at ingest, see
``qa.sentence_vectors``) and by its words and its neighbours' and title's, within the days the
question allows (``qa.when`` scores them, groups reports of one event across articles by day, and
chooses the occurrence the question's order calls for: the latest, the earliest, the best supported).

A sentence without a date of its own takes the date of the sentence before or after it ("The
missiles struck on Tuesday. Eleven soldiers were hurt.") and "the next day", "a day earlier",
"three days after" count from the date stated nearby; the cited span then runs from the sentence
that states the date to the one that names the event, so the quote always states the day.

The index is derived from the store, like the lexical index: built on first use and saved under
the index folder for the store's generation.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from qa.chunk import split_sentences
from qa.dates import extract_event_dates, precision_end, relative_shift
from qa.index import ChromaStore, DerivedFolder, day_number, top_positions
from qa.models import Citation, EventDate, Precision
from qa.names import stem_key, stem_terms, with_compounds
from qa.sentence_vectors import SentenceVectors

EVENTS_FOLDER = "events"
#: Saved indexes of another format are rebuilt.
FORMAT = 13
PRECISIONS: tuple[Precision, ...] = ("day", "week", "month", "year")
#: How a record got its date: stated in its sentence, carried from a neighbour, or counted from a
#: date nearby ("the next day").
STATED, CARRIED, COUNTED = 0, 1, 2
_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class EventRecord:
    """One dated statement: ``quote == article.text[start:end]`` states ``day``; the event sentence is
    ``article.text[sentence_start:sentence_end]`` (inside the quote)."""

    row: int
    article_id: str
    chunk_id: str
    start: int
    end: int
    sentence_start: int
    sentence_end: int
    #: Where the date is written, when it is in the event sentence (else -1).
    date_start: int
    date_end: int
    day: dt.date
    precision: Precision
    how: int
    numbered: bool
    quote: str
    sentence: str
    context: str
    published: dt.date | None
    title: str
    url: str
    source: str

    @property
    def date_text(self) -> str:
        """The date as the quote writes it ("Saturday", "January 20"); empty when it is carried or counted."""
        return self.quote[self.date_start - self.start : self.date_end - self.start] if self.date_start >= 0 else ""

    @property
    def date_in_sentence(self) -> tuple[int, int]:
        """Where the date is written in ``sentence`` (offsets into it); (-1, -1) when it is carried or counted."""
        if self.date_start < 0:
            return -1, -1
        return self.date_start - self.sentence_start, self.date_end - self.sentence_start

    @property
    def explicit(self) -> bool:
        """Whether the date is written with its day number ("January 20", "2024-01-20"), not as a weekday or "yesterday"."""
        return has_day_number(self.date_text)

    def citation(self) -> Citation:
        return Citation(
            article_id=self.article_id,
            url=self.url,
            title=self.title,
            source=self.source,
            published=self.published.isoformat() if self.published else None,
            start=self.start,
            end=self.end,
            quote=self.quote,
            event_date=self.day.isoformat(),
        )


@dataclass
class EventIndex:
    """Columns of every event record, one row per (statement, day)."""

    article_ids: list[str] = field(default_factory=list)
    chunk_ids: list[str] = field(default_factory=list)
    #: int32 columns: quote span, event sentence span and date span (-1, -1 when the date is not in
    #: the sentence); day number; publication day number (-1: unknown).
    spans: np.ndarray = field(default_factory=lambda: np.zeros((0, 6), dtype=np.int32))
    days: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    published: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    #: int8: index into ``PRECISIONS``, and how the date was found (``STATED``...).
    precisions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    how: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    #: Whether the day is written with its number where it comes from ("Jan. 8", not "Tuesday"):
    #: in the sentence, the neighbour it is carried from, or the date it is counted from.
    numbered: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: The verbatim span that states each record's date; its event sentence lies inside it.
    quotes: list[str] = field(default_factory=list)
    #: The sentence with its neighbours and the article's title, as ``qa.names.stem_terms``.
    contexts: list[str] = field(default_factory=list)
    #: Per article: title, url, source.
    articles: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    #: The event sentence's ``qa.names.stem_terms``, space-separated.
    sentence_terms: list[str] = field(default_factory=list)
    #: Pooled vector of each record's event sentence (unit length; float32 in memory, float16 on disk).
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    #: Folded term -> rows whose context holds it.
    postings: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.article_ids)

    def record(self, row: int) -> EventRecord:
        start, end, s_start, s_end, d_start, d_end = (int(v) for v in self.spans[row])
        title, url, source = self.articles.get(self.article_ids[row], ("", "", ""))
        published = int(self.published[row])
        return EventRecord(
            row=row,
            article_id=self.article_ids[row],
            chunk_id=self.chunk_ids[row],
            start=start,
            end=end,
            sentence_start=s_start,
            sentence_end=s_end,
            date_start=d_start,
            date_end=d_end,
            day=_EPOCH + dt.timedelta(days=int(self.days[row])),
            precision=PRECISIONS[int(self.precisions[row])],
            how=int(self.how[row]),
            numbered=bool(self.numbered[row]),
            quote=self.quotes[row],
            sentence=self.quotes[row][s_start - start : s_end - start],
            context=self.contexts[row],
            published=_EPOCH + dt.timedelta(days=published) if published >= 0 else None,
            title=title,
            url=url,
            source=source,
        )

    def sentences(self) -> list[str]:
        """The distinct event sentences of all records, in row order."""
        found: dict[str, None] = {}
        for quote, (start, _, s_start, s_end, _, _) in zip(self.quotes, self.spans.tolist(), strict=True):
            found[quote[s_start - start : s_end - start]] = None
        return list(found)

    # ---- building ------------------------------------------------------------------------

    @classmethod
    def build(cls, store: ChromaStore, encode_passages: Callable[[list[str]], list[SentenceVectors]] | None = None) -> EventIndex:
        """Every dated statement of every committed article of ``store``. Chunks stored without
        sentence vectors (``qa.sentence_vectors``) get them from ``encode_passages``, and keep them."""
        builder = _Builder()
        chunks = _committed_chunks(store)
        for article_id, text, meta in store.iter_articles():
            builder.add_article(article_id, text, meta, chunks.get(article_id, []))
        return builder.finish(store, encode_passages)

    def save(self, folder: Path, generation: int, chunks: int) -> None:
        """Write under ``folder/events`` for the store's version; a pointer replaced last makes it atomic."""
        saved = DerivedFolder(folder / EVENTS_FOLDER)
        target = saved.new(generation)
        np.savez(
            target / "columns.npz",
            spans=self.spans,
            days=self.days,
            published=self.published,
            precisions=self.precisions,
            how=self.how,
            numbered=self.numbered,
            vectors=self.vectors.astype(np.float16),
        )
        (target / "texts.json").write_text(
            json.dumps(
                {
                    "article_ids": self.article_ids,
                    "chunk_ids": self.chunk_ids,
                    "quotes": self.quotes,
                    "contexts": self.contexts,
                    "sentence_terms": self.sentence_terms,
                    "articles": self.articles,
                }
            )
        )
        saved.publish(target, {"generation": generation, "chunks": chunks, "format": FORMAT})

    @classmethod
    def load(cls, folder: Path, generation: int, chunks: int) -> EventIndex | None:
        """The index saved for exactly this store version, or None."""
        source = DerivedFolder(folder / EVENTS_FOLDER).current({"generation": generation, "chunks": chunks, "format": FORMAT})
        if source is None:
            return None
        try:
            texts = json.loads((source / "texts.json").read_text())
            with np.load(source / "columns.npz") as columns:
                index = cls(
                    article_ids=texts["article_ids"],
                    chunk_ids=texts["chunk_ids"],
                    quotes=texts["quotes"],
                    contexts=texts["contexts"],
                    sentence_terms=texts["sentence_terms"],
                    articles={k: tuple(v) for k, v in texts["articles"].items()},
                    spans=columns["spans"],
                    days=columns["days"],
                    published=columns["published"],
                    precisions=columns["precisions"],
                    how=columns["how"],
                    numbered=columns["numbered"],
                    vectors=columns["vectors"].astype(np.float32),
                )
        except (OSError, ValueError, KeyError):
            return None
        index.postings = _postings(index.contexts)
        return index

    # ---- searching -----------------------------------------------------------------------

    def candidates(
        self,
        terms: list[str],
        vector: np.ndarray,
        admitted: np.ndarray,
        idf: Callable[[str], float],
        n: int,
    ) -> np.ndarray:
        """Rows among ``admitted`` nearest the question by meaning, and rows holding its rarest terms."""
        rows = np.flatnonzero(admitted)
        if not len(rows):
            return rows
        dense = self._nearest(rows, vector, n)
        # Rows holding the question's terms, scored by the share of the terms' weight they hold.
        weights: dict[str, float] = {}
        for term in terms:
            key = stem_key(term)
            if key in self.postings:
                weights[key] = max(weights.get(key, 0.0), idf(term))
        lexical_score = np.zeros(len(self), dtype=np.float32)
        for term, weight in weights.items():
            lexical_score[self.postings[term]] += weight
        lexical_score[~admitted] = 0
        lexical = top_positions(lexical_score, n)
        lexical = lexical[lexical_score[lexical] > 0]
        return np.unique(np.concatenate([dense, lexical]))

    def _nearest(self, rows: np.ndarray, vector: np.ndarray, n: int) -> np.ndarray:
        """The ``n`` of ``rows`` whose vectors are nearest ``vector``, nearest first.

        Past ``COARSE_MIN_ROWS`` records, in two steps: the ``COARSE_PER_CANDIDATE * n`` nearest
        by the vectors' first ``COARSE_DIMENSIONS`` coordinates in the basis that holds most of
        their length (``_coarse``), then those by their whole vectors. The product over every row
        reads a quarter of the memory, in bfloat16 (at 301,369 records, 12 ms against 76 here; 26 in
        float32)."""
        if self.vectors.shape[1] != len(vector):
            return rows[:n]
        coarse = self._coarse if len(rows) > COARSE_PER_CANDIDATE * n else None
        if coarse is not None:
            import torch

            basis, projected = coarse
            # One product over all rows costs less than copying the admitted ones.
            scores = (projected @ torch.from_numpy(vector @ basis).to(projected.dtype)).float().numpy()
            rows = rows[top_positions(scores[rows], COARSE_PER_CANDIDATE * n)]
            similarity = self.vectors[rows] @ vector
        else:
            similarity = (self.vectors @ vector)[rows]
        return rows[top_positions(similarity, n)]

    @cached_property
    def _coarse(self) -> tuple[np.ndarray, Any] | None:
        """The ``COARSE_DIMENSIONS`` directions that hold most of the record vectors' length (the
        eigenvectors of their second moments, from a sample), and every vector's coordinates in
        them (a bfloat16 torch tensor); None for an index too small to need them. Computed once
        per index (half a second per 100,000 records)."""
        if len(self) < COARSE_MIN_ROWS or self.vectors.shape[1] <= COARSE_DIMENSIONS:
            return None
        import torch

        sample = self.vectors[:: max(1, len(self) // COARSE_SAMPLE)].astype(np.float64)
        _, basis = np.linalg.eigh(sample.T @ sample)  # ascending eigenvalues
        basis = np.ascontiguousarray(basis[:, ::-1][:, :COARSE_DIMENSIONS], dtype=np.float32)
        return basis, torch.from_numpy(self.vectors @ basis).to(torch.bfloat16)

    def mask(
        self,
        *,
        published_since: dt.date | None,
        published_until: dt.date | None,
        day_since: dt.date | None,
        day_until: dt.date | None,
        sources: tuple[str, ...] = (),
    ) -> np.ndarray:
        """Rows whose article was published in the window and whose date can fall in the day window."""
        admitted = np.ones(len(self), dtype=bool)
        if published_since:
            admitted &= self.published >= day_number(published_since)
        if published_until:
            admitted &= (self.published >= 0) & (self.published <= day_number(published_until))
        if day_since:
            admitted &= self.ends >= day_number(day_since)
        if day_until:
            admitted &= self.days <= day_number(day_until)
        if sources:
            wanted = {aid for aid, (_, _, source) in self.articles.items() if source in sources}
            admitted &= np.asarray([aid in wanted for aid in self.article_ids], dtype=bool)
        return admitted

    @cached_property
    def ends(self) -> np.ndarray:
        """The last day each record's date can mean, as ``qa.dates.precision_end`` counts it (a
        week's seventh day, a month's last day, a year's 31 December); computed once per index."""
        days = self.days.astype("datetime64[D]")
        month_ends = (days.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
        year_ends = (days.astype("datetime64[Y]") + 1).astype("datetime64[D]") - 1
        ends = np.select([self.precisions == 1, self.precisions == 2, self.precisions == 3], [days + 6, month_ends, year_ends], days)
        return ends.astype(np.int64)


#: The first, coarse step of a search by meaning (``EventIndex._nearest``) keeps this many rows per
#: candidate, read in this many of the vectors' 384 coordinates. On the when set's 99,064 records
#: (55 questions, 5 time lines, 300 candidates), 192 coordinates and 1,500 rows found every one of
#: the exact 300 for every query, in float32 and in bfloat16; 128 coordinates missed up to 13 of
#: 300, 160 up to 4 (float32).
COARSE_DIMENSIONS = 192
COARSE_PER_CANDIDATE = 5
#: Below this many records every vector is read whole; the sample for the basis is at most this size.
COARSE_MIN_ROWS = 20_000
COARSE_SAMPLE = 20_000


# ---- building, article by article ------------------------------------------------------------


#: Chunk texts whose sentence vectors are read at once while building.
VECTOR_BATCH = 2000
#: A sentence without a date of its own takes its neighbour's only when the neighbour is this close
#: (in characters between them): across a paragraph break the story has often moved on.
CARRY_GAP = 3


#: A page's notes about itself date the page, not an event: "Editor's note: This page recaps the
#: news from the trial for Monday, April 22", "see our live updates file for Monday, Aug. 14".
_PAGE_NOTE = re.compile(
    r"^\W*editor['\u2019]s note\b|\bthis (?:page|live blog|blog|story|article) (?:is|was|recaps|reflects|has been|will be)\b"
    r"|\blive (?:updates?|blog|coverage)(?: file| page)? (?:for|from|on)\b|\brefresh this page\b",
    re.I,
)


def event_sentences(store: ChromaStore) -> list[str]:
    """The distinct event sentences ``EventIndex.build`` would make records of, read article by
    article without holding the index (for the 20k archive the index takes several GB in memory;
    this, its sentences only)."""
    chunks = _committed_chunks(store)
    found: dict[str, None] = {}
    for article_id, text, meta in store.iter_articles():
        builder = _Builder(sentences_only=True)
        builder.add_article(article_id, text, meta, chunks.get(article_id, []))
        for _, _, start, end, _, _ in builder.spans:
            found[text[start:end]] = None
    return list(found)


class _Builder:
    def __init__(self, sentences_only: bool = False) -> None:
        #: Only the records' spans: no context or terms (``event_sentences``).
        self.sentences_only = sentences_only
        self.index = EventIndex()
        self.columns: dict[str, list[int]] = {k: [] for k in ("days", "published", "precisions", "how", "numbered")}
        self.spans: list[tuple[int, int, int, int, int, int]] = []
        #: (text hash, offset in the chunk) of each row's event sentence, for its pooled vector.
        self.vector_keys: list[tuple[str, int]] = []

    def add_article(self, article_id: str, text: str, meta: dict[str, Any], chunks: list[tuple[int, int, str, str]]) -> None:
        published = _day(meta.get("published"))
        title = str(meta.get("title", ""))
        self.index.articles[article_id] = (title, str(meta.get("url", "")), str(meta.get("source", "")))
        spans = split_sentences(text)
        dated = [[] if _PAGE_NOTE.search(text[s:e]) else extract_event_dates(text[s:e], published) for s, e in spans]
        folded_title = " ".join(stem_terms(title))
        for i, (start, end) in enumerate(spans):
            chunk = next((c for c in chunks if c[0] <= start and end <= c[1]), None)
            if chunk is None:
                continue
            # (quote start, quote end, day, precision, how, date start, date end, day number written)
            records: list[tuple[int, int, dt.date, Precision, int, int, int, bool]] = []
            for event in _finest(dated[i]):
                records.append(
                    (start, end, event.date, event.precision, STATED, start + event.start, start + event.end, has_day_number(event.text))
                )
            own_days = [e for e in dated[i] if e.precision == "day"]
            shift = relative_shift(text[start:end])
            if shift is not None:
                if shift.after_own and own_days:
                    # "named a new CEO on Monday, three days after ousting him": the ousting is Monday - 3.
                    own = own_days[0]
                    day = own.date + dt.timedelta(days=shift.days)
                    records.append((start, end, day, "day", COUNTED, -1, -1, has_day_number(own.text)))
                elif not shift.after_own:
                    anchor = _previous_day(dated, i)
                    if anchor is not None:
                        j, counted_from = anchor
                        day = counted_from.date + dt.timedelta(days=shift.days)
                        records.append((spans[j][0], end, day, "day", COUNTED, -1, -1, has_day_number(counted_from.text)))
            if not records:  # a sentence that counts its day from another ("the next day") does not also take it
                for j in (i - 1, i + 1):
                    if 0 <= j < len(spans) and dated[j] and _gap(text, spans, i, j) <= CARRY_GAP:
                        first, last = min(i, j), max(i, j)
                        for event in dated[j]:
                            records.append(
                                (spans[first][0], spans[last][1], event.date, event.precision, CARRIED, -1, -1, has_day_number(event.text))
                            )
            if not records:
                continue
            if self.sentences_only:
                self.spans.append((start, end, start, end, -1, -1))
                continue
            context = " ".join(
                stem_terms(" ".join(text[s:e] for s, e in spans[max(0, i - 1) : i + 2])) + ([folded_title] if folded_title else [])
            )
            sentence_terms = " ".join(stem_terms(text[start:end]))
            seen: set[tuple[int, dt.date, str]] = set()
            # One record per day a sentence states: the one written with its day number, if any ("Saturday evening, January 20").
            records.sort(key=lambda r: not (r[5] >= 0 and r[7]))
            for q_start, q_end, day, precision, how, d_start, d_end, numbered in records:
                if (q_start, day, precision) in seen:
                    continue
                seen.add((q_start, day, precision))
                self.index.article_ids.append(article_id)
                self.index.chunk_ids.append(chunk[3])
                self.spans.append((q_start, q_end, start, end, d_start, d_end))
                self.columns["days"].append(day_number(day))
                self.columns["published"].append(day_number(published) if published else -1)
                self.columns["precisions"].append(PRECISIONS.index(precision))
                self.columns["how"].append(how)
                self.columns["numbered"].append(numbered)
                self.index.quotes.append(text[q_start:q_end])
                self.index.contexts.append(context)
                self.index.sentence_terms.append(sentence_terms)
                self.vector_keys.append((chunk[2], start - chunk[0]))

    def finish(self, store: ChromaStore, encode_passages: Callable[[list[str]], list[SentenceVectors]] | None) -> EventIndex:
        index = self.index
        index.spans = np.asarray(self.spans, dtype=np.int32).reshape(-1, 6)
        index.days = np.asarray(self.columns["days"], dtype=np.int32)
        index.published = np.asarray(self.columns["published"], dtype=np.int32)
        index.precisions = np.asarray(self.columns["precisions"], dtype=np.int8)
        index.how = np.asarray(self.columns["how"], dtype=np.int8)
        index.numbered = np.asarray(self.columns["numbered"], dtype=bool)
        # Sentence vectors are read a batch of chunk texts at a time: all of them at once would
        # hold every sentence of the archive in memory (1.5 GB at 100,000 chunks).
        rows_of: dict[str, list[int]] = {}
        for row, (text_hash, _) in enumerate(self.vector_keys):
            rows_of.setdefault(text_hash, []).append(row)
        hashes = list(rows_of)
        vectors = np.zeros((len(self.vector_keys), 0), dtype=np.float32)
        for first in range(0, len(hashes), VECTOR_BATCH):
            batch = hashes[first : first + VECTOR_BATCH]
            pooled = store.sentences.get(batch)
            missing = {h: self.index.chunk_ids[rows_of[h][0]] for h in batch if h not in pooled}
            if missing and encode_passages is not None:
                texts = store.get_passages(list(missing.values()))
                found = [h for h, cid in missing.items() if cid in texts]
                computed = list(zip(found, encode_passages([texts[missing[h]][0] for h in found]), strict=True))
                with contextlib.suppress(sqlite3.Error):  # a cache: an index that cannot be written still answers
                    store.sentences.put(computed)
                pooled.update(computed)
            for text_hash, sentences in pooled.items():
                if not sentences.vectors.size:
                    continue
                if not vectors.shape[1]:
                    vectors = np.zeros((len(self.vector_keys), sentences.vectors.shape[1]), dtype=np.float32)
                for row in rows_of[text_hash]:
                    vector = sentences.lookup(self.vector_keys[row][1])
                    if vector is not None:
                        vectors[row] = vector
        index.vectors = vectors
        index.postings = _postings(index.contexts)
        return index


def has_day_number(written: str) -> bool:
    """Whether a written date carries its day number ("January 20") rather than a name ("Saturday")."""
    return any(c.isdigit() for c in written)


def _committed_chunks(store: ChromaStore) -> dict[str, list[tuple[int, int, str, str]]]:
    """Per article, its committed chunks: (start, end, text hash, chunk id)."""
    hashes = {aid: str(meta.get("hash", "")) for aid, meta in store.iter_article_metadata()}
    chunks: dict[str, list[tuple[int, int, str, str]]] = {}
    for page in store.iter_pages(include_documents=False):
        for chunk_id, meta in zip(page["ids"], page["metadatas"], strict=True):
            article_id = meta["article_id"]
            if hashes.get(article_id) == meta.get("hash"):
                chunks.setdefault(article_id, []).append((int(meta["start"]), int(meta["end"]), str(meta["text_hash"]), chunk_id))
    for found in chunks.values():
        found.sort()
    return chunks


def _finest(events: list[EventDate]) -> list[EventDate]:
    """A sentence's dates without the coarse ones that hold a finer one it states ("the 2024
    election is set for Thursday": the day, not the year)."""
    precise = [e for e in events if e.precision == "day"]
    return [e for e in events if e.precision == "day" or not any(e.date <= p.date <= precision_end(e.date, e.precision) for p in precise)]


def _previous_day(dated: list[list[EventDate]], i: int) -> tuple[int, EventDate] | None:
    """The nearest day-precise date stated in the three sentences before this one."""
    for j in range(i - 1, max(-1, i - 4), -1):
        days = [e for e in dated[j] if e.precision == "day"]
        if days:
            return j, days[-1]
    return None


def _gap(text: str, spans: list[tuple[int, int]], i: int, j: int) -> int:
    first, last = min(i, j), max(i, j)
    between = text[spans[first][1] : spans[last][0]]
    return len(between) + (10 if "\n\n" in between else 0)


def _day(value: object) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _postings(contexts: list[str]) -> dict[str, np.ndarray]:
    rows: dict[str, list[int]] = {}
    for row, context in enumerate(contexts):
        for term in with_compounds(context.split()):
            rows.setdefault(term, []).append(row)
    return {term: np.asarray(found, dtype=np.int32) for term, found in rows.items()}
