"""The event index: every dated statement of the archive, searchable by meaning and words with day filters.

"When did X last happen" is answered from all the occurrences of X in the archive, not from the
few passages a search ranks first: the latest strike may be told in a report that ranks twentieth.
So every sentence whose date resolves becomes a record (its day and precision, the verbatim span
that states the date, the sentence that names the event, its article), and a question searches
those records directly: by the meaning of the sentence (its vector pooled at ingest, see
``qa.sentence_vectors``) and by its words and its neighbours' and title's, within the days the
question allows. Reports of one event across articles are then grouped by day, and the group the
question's order calls for (the latest, the earliest, the best supported) answers.

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
import math
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.chunk import split_sentences
from qa.dates import extract_event_dates, format_day, month_first, precision_end, relative_shift
from qa.index import ChromaStore, day_number
from qa.models import Answer, Citation, Copy, EventDate, Located, Precision, Timeline, TimelineEvent
from qa.names import compatible_names, covered_terms, fold_word, stem_key, stem_terms, with_compounds
from qa.sentence_vectors import SentenceVectors

EVENTS_FOLDER = "events"
#: Saved indexes of another format are rebuilt.
FORMAT = 6
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
    quote: str
    sentence: str
    context: str
    published: dt.date | None
    title: str
    url: str
    source: str

    @property
    def explicit(self) -> bool:
        """Whether the date is written with its day number ("January 20", "2024-01-20"), not as a weekday or "yesterday"."""
        written = self.quote[self.date_start - self.start : self.date_end - self.start] if self.date_start >= 0 else ""
        return any(c.isdigit() for c in written)

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
    quotes: list[str] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)
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
            quote=self.quotes[row],
            sentence=self.sentences[row],
            context=self.contexts[row],
            published=_EPOCH + dt.timedelta(days=published) if published >= 0 else None,
            title=title,
            url=url,
            source=source,
        )

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
        root = folder / EVENTS_FOLDER
        name = f"g{generation}-{os.getpid()}-{time.time_ns()}"
        target = root / name
        target.mkdir(parents=True)
        np.savez(
            target / "columns.npz",
            spans=self.spans,
            days=self.days,
            published=self.published,
            precisions=self.precisions,
            how=self.how,
            vectors=self.vectors.astype(np.float16),
        )
        (target / "texts.json").write_text(
            json.dumps(
                {
                    "article_ids": self.article_ids,
                    "chunk_ids": self.chunk_ids,
                    "quotes": self.quotes,
                    "sentences": self.sentences,
                    "contexts": self.contexts,
                    "sentence_terms": self.sentence_terms,
                    "articles": self.articles,
                }
            )
        )
        pointer = root / f"current.json.{name}"
        pointer.write_text(json.dumps({"folder": name, "generation": generation, "chunks": chunks, "format": FORMAT}))
        os.replace(pointer, root / "current.json")
        for old in root.iterdir():
            if old.is_dir() and old.name != name:
                shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, generation: int, chunks: int) -> EventIndex | None:
        """The index saved for exactly this store version, or None."""
        root = folder / EVENTS_FOLDER
        try:
            current = json.loads((root / "current.json").read_text())
            if (current["generation"], current["chunks"], current.get("format")) != (generation, chunks, FORMAT):
                return None
            source = root / current["folder"]
            texts = json.loads((source / "texts.json").read_text())
            with np.load(source / "columns.npz") as columns:
                index = cls(
                    article_ids=texts["article_ids"],
                    chunk_ids=texts["chunk_ids"],
                    quotes=texts["quotes"],
                    sentences=texts["sentences"],
                    contexts=texts["contexts"],
                    sentence_terms=texts["sentence_terms"],
                    articles={k: tuple(v) for k, v in texts["articles"].items()},
                    spans=columns["spans"],
                    days=columns["days"],
                    published=columns["published"],
                    precisions=columns["precisions"],
                    how=columns["how"],
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
        # One product over all rows costs less than copying the admitted ones.
        similarity = (self.vectors @ vector)[rows] if self.vectors.shape[1] == len(vector) else np.zeros(len(rows), np.float32)
        dense = rows[_top(similarity, n)]
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
        lexical = _top(lexical_score, n)
        lexical = lexical[lexical_score[lexical] > 0]
        return np.unique(np.concatenate([dense, lexical]))

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
            admitted &= self._ends() >= day_number(day_since)
        if day_until:
            admitted &= self.days <= day_number(day_until)
        if sources:
            wanted = {aid for aid, (_, _, source) in self.articles.items() if source in sources}
            admitted &= np.asarray([aid in wanted for aid in self.article_ids], dtype=bool)
        return admitted

    def _ends(self) -> np.ndarray:
        """The last day each record's date can mean (a month's last day, a year's 31 December)."""
        ends = self.days.astype(np.int64).copy()
        for code, extra in ((1, 6), (2, 30), (3, 364)):
            ends[self.precisions == code] += extra
        return ends


# ---- building, article by article ------------------------------------------------------------


#: A sentence without a date of its own takes its neighbour's only when the neighbour is this close
#: (in characters between them): across a paragraph break the story has often moved on.
CARRY_GAP = 3


class _Builder:
    def __init__(self) -> None:
        self.index = EventIndex()
        self.dimensions = 0
        self.columns: dict[str, list[int]] = {k: [] for k in ("days", "published", "precisions", "how")}
        self.spans: list[tuple[int, int, int, int, int, int]] = []
        #: (text hash, offset in the chunk) of each row's event sentence, for its pooled vector.
        self.vector_keys: list[tuple[str, int]] = []

    def add_article(self, article_id: str, text: str, meta: dict[str, Any], chunks: list[tuple[int, int, str, str]]) -> None:
        published = _day(meta.get("published"))
        title = str(meta.get("title", ""))
        self.index.articles[article_id] = (title, str(meta.get("url", "")), str(meta.get("source", "")))
        spans = split_sentences(text)
        dated = [extract_event_dates(text[s:e], published) for s, e in spans]
        folded_title = " ".join(stem_terms(title))
        for i, (start, end) in enumerate(spans):
            chunk = next((c for c in chunks if c[0] <= start and end <= c[1]), None)
            if chunk is None:
                continue
            records: list[tuple[int, int, dt.date, Precision, int, int, int]] = []
            for event in _finest(dated[i]):
                records.append((start, end, event.date, event.precision, STATED, start + event.start, start + event.end))
            own_days = [e.date for e in dated[i] if e.precision == "day"]
            shift = relative_shift(text[start:end])
            if shift is not None:
                if shift.after_own and own_days:
                    # "named a new CEO on Monday, three days after ousting him": the ousting is Monday - 3.
                    records.append((start, end, own_days[0] + dt.timedelta(days=shift.days), "day", COUNTED, -1, -1))
                elif not shift.after_own:
                    anchor = _previous_day(dated, i)
                    if anchor is not None:
                        j, day = anchor
                        records.append((spans[j][0], end, day + dt.timedelta(days=shift.days), "day", COUNTED, -1, -1))
            if not records:  # a sentence that counts its day from another ("the next day") does not also take it
                for j in (i - 1, i + 1):
                    if 0 <= j < len(spans) and dated[j] and _gap(text, spans, i, j) <= CARRY_GAP:
                        first, last = min(i, j), max(i, j)
                        for event in dated[j]:
                            records.append((spans[first][0], spans[last][1], event.date, event.precision, CARRIED, -1, -1))
            if not records:
                continue
            context = " ".join(
                stem_terms(" ".join(text[s:e] for s, e in spans[max(0, i - 1) : i + 2])) + ([folded_title] if folded_title else [])
            )
            sentence_terms = " ".join(stem_terms(text[start:end]))
            seen: set[tuple[int, dt.date, str]] = set()
            # One record per day a sentence states: the one written with its day number, if any ("Saturday evening, January 20").
            records.sort(key=lambda r: not any(c.isdigit() for c in text[r[5] : r[6]]) if r[5] >= 0 else True)
            for q_start, q_end, day, precision, how, d_start, d_end in records:
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
                self.index.quotes.append(text[q_start:q_end])
                self.index.sentences.append(text[start:end])
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
        pooled = store.sentences.get([h for h, _ in self.vector_keys])
        missing = {h: cid for (h, _), cid in zip(self.vector_keys, self.index.chunk_ids, strict=True) if h not in pooled}
        if missing and encode_passages is not None:
            texts = store.get_passages(list(missing.values()))
            hashes = [h for h, cid in missing.items() if cid in texts]
            computed = list(zip(hashes, encode_passages([texts[missing[h]][0] for h in hashes]), strict=True))
            with contextlib.suppress(sqlite3.Error):  # a cache: an index that cannot be written still answers
                store.sentences.put(computed)
            pooled.update(computed)
        dimensions = next((v.vectors.shape[1] for v in pooled.values() if v.vectors.size), self.dimensions)
        vectors = np.zeros((len(self.vector_keys), dimensions), dtype=np.float32)
        for row, (text_hash, offset) in enumerate(self.vector_keys):
            found = pooled.get(text_hash)
            vector = found.lookup(offset) if found is not None else None
            if vector is not None:
                vectors[row] = vector
        index.vectors = vectors
        index.postings = _postings(index.contexts)
        return index


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


def _previous_day(dated: list[list[Any]], i: int) -> tuple[int, dt.date] | None:
    """The nearest day-precise date stated in the three sentences before this one."""
    for j in range(i - 1, max(-1, i - 4), -1):
        days = [e.date for e in dated[j] if e.precision == "day"]
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


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    if n >= len(scores):
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, n - 1)[:n]
    return part[np.argsort(-scores[part], kind="stable")]


# ---- scoring records against a question --------------------------------------------------------


@dataclass
class ScoredRecord:
    record: EventRecord
    similarity: float
    coverage: float
    own: float
    relevance: float
    #: How well the record's date belongs to the event words of its sentence (1: right beside them).
    placement: float = 1.0


def score_records(
    index: EventIndex,
    rows: np.ndarray,
    question: str,
    terms: list[str],
    vector: np.ndarray,
    idf: Callable[[str], float],
    names: set[str],
    exact: Callable[[list[str]], np.ndarray] | None = None,
    order: str | None = None,
) -> list[ScoredRecord]:
    """Relevance of each candidate record to the question: the meaning of its event sentence, the
    share of the question's terms (by rarity) in the sentence and in its context, and how close
    its date is written to the words that name the event."""
    weights = {t: idf(t) for t in terms}
    total = sum(weights.values()) or 1.0
    name_weight = sum(idf(n) for n in names)
    event_words = [t for t in terms if t not in names] or terms
    keys = {t: stem_key(t) for t in [*terms, *names]}
    past = bool(_PAST_QUESTION.search(question))
    scored = []
    similarity = index.vectors[rows] @ vector if len(rows) and index.vectors.shape[1] == len(vector) else np.zeros(len(rows))
    for row, sim in zip(rows.tolist(), similarity.tolist(), strict=True):
        record = index.record(row)
        own_terms = with_compounds(index.sentence_terms[row].split())
        context_terms = with_compounds(record.context.split())
        if names and sum(idf(n) for n in _covered(sorted(names), keys, context_terms | own_terms)) < NAME_SHARE * name_weight:
            continue
        if names and not compatible_names(question, record.quote + " " + record.title):
            continue
        in_sentence = _covered(terms, keys, own_terms)
        in_context = _covered(terms, keys, context_terms)
        own = sum(weights[t] for t in in_sentence) / total
        coverage = sum(weights[t] for t in in_context | in_sentence) / total
        item = ScoredRecord(record, float(sim), coverage, own, 0.0, _placement(record, {keys[t] for t in event_words}))
        if past and _PLANNED.search(record.sentence):
            item.placement *= PLANNED_WEIGHT
        if _attributed(record) and not _SAYING.search(question):
            item.placement *= SAID_WEIGHT
        scored.append(item)
    if exact is not None and scored:
        sentences = _exact_shortlist(scored)
        own_similarity = dict(zip(sentences, exact(sentences).tolist(), strict=True))
        for item in scored:
            if item.record.sentence in own_similarity:
                item.similarity = POOLED_SHARE * item.similarity + (1 - POOLED_SHARE) * float(own_similarity[item.record.sentence])
    for item in scored:
        damp = 1.0 if item.record.how == STATED else CARRIED_WEIGHT
        placement = 1 - (1 - item.placement) * PLACEMENT_SHARE
        if order != "first" and _looking_back(item.record):  # a first occurrence is mostly told looking back
            damp *= 1 - LOOK_BACK_LOSS
        item.relevance = damp * placement * (0.5 * item.similarity + 0.25 * item.own + 0.25 * item.coverage)
    return scored


#: A record's sentence, neighbours and title must hold this share of the question's names (by rarity):
#: "Slovakia's prime minister Robert Fico" is the one "Slovak Prime Minister Robert Fico" means.
NAME_SHARE = 0.5
#: Records whose sentence is encoded on its own before the final score: the best few of each day.
EXACT_RECORDS = 16
EXACT_PER_DAY = 1
#: Their similarity is this share the pooled one (the sentence read in its chunk), the rest their own.
POOLED_SHARE = 0.25
#: A date stated more than ``LOOK_BACK_DAYS`` after it (an anniversary piece, a look back) is weaker
#: evidence of the day than reporting near it: its relevance loses this share. Measured neutral on
#: the when set's accuracy (0.1 to 0.2 after 365 days; 0.1 after 30 days cost a "first" answer).
LOOK_BACK_DAYS = 365
LOOK_BACK_LOSS = 0.2
#: A date carried from a neighbour or counted from a date nearby is less sure than one stated.
CARRIED_WEIGHT = 0.92
#: A date this many words or more from the words that name the event counts ``1 - PLACEMENT_LOSS``
#: (``PLACEMENT_SHARE`` of that loss is applied to the relevance).
PLACEMENT_WORDS = 20
PLACEMENT_LOSS = 0.3
PLACEMENT_SHARE = 0.5
#: A sentence that plans or expects an event ("is set to launch", "will") answers a question about
#: what happened ("when did...") less surely than one that reports it.
PLANNED_WEIGHT = 0.9
_PAST_QUESTION = re.compile(r"^\s*(?:when|on what day|what day|which day)\s+(?:did|was|were|had)\b", re.I)
_PLANNED = re.compile(
    r"\b(?:will|would|is\s+set\s+to|are\s+set\s+to|is\s+scheduled|are\s+scheduled|is\s+expected\s+to|are\s+expected\s+to|"
    r"plans?\s+to|preparing|could|may|might|set\s+for|slated|ahead\s+of)\b",
    re.I,
)
_WORDS = re.compile(r"[^\W_]+")
#: A date written beside a verb of saying ("officials said on Monday", "said Monday") is the day
#: something was said, not the day of the event reported; unless saying is what the question asks about.
SAID_WEIGHT = 0.85
_SAYING = re.compile(r"\b(?:said|says|say|told|tells|announced?|announces|reported|reports|confirmed|stated|added|wrote)\b", re.I)
_SAID_BEFORE = re.compile(_SAYING.pattern + r"\s+(?:on\s+|late\s+|early\s+)?$", re.I)
_SAID_AFTER = re.compile(r"^,?\s+" + _SAYING.pattern, re.I)


def _attributed(record: EventRecord) -> bool:
    """Whether the record's date is that of a statement: "said on Monday", "on Monday said"."""
    if record.date_start < 0:
        return False
    at, end = record.date_start - record.sentence_start, record.date_end - record.sentence_start
    return bool(_SAID_BEFORE.search(record.sentence[max(0, at - 20) : at]) or _SAID_AFTER.search(record.sentence[end : end + 20]))


def _looking_back(record: EventRecord) -> bool:
    return record.published is not None and (record.published - record.day).days > LOOK_BACK_DAYS


def _placement(record: EventRecord, event_keys: set[str]) -> float:
    """1 when the record's date is written beside the event's words in its sentence, less the
    farther it is; 1 for a date not written in the sentence (carried from a neighbour). Counting
    clauses instead ("evaluated on Monday | after missiles hit on Saturday") measured worse on the
    when set (35 against 38 of 55)."""
    if record.date_start < 0:
        return 1.0
    offset = record.sentence_start
    words = [(m.start() + offset, stem_key(fold_word(m.group(0)))) for m in _WORDS.finditer(record.sentence)]
    positions = [i for i, (_, key) in enumerate(words) if key in event_keys]
    if not positions:
        return 1.0 - PLACEMENT_LOSS / 2
    date_at = next((i for i, (start, _) in enumerate(words) if start >= record.date_start), len(words) - 1)
    distance = min(abs(date_at - p) for p in positions)
    return 1.0 - PLACEMENT_LOSS * min(distance, PLACEMENT_WORDS) / PLACEMENT_WORDS


def _exact_shortlist(scored: list[ScoredRecord]) -> list[str]:
    """Sentences of the best ``EXACT_PER_DAY`` records of each day, best days first, ``EXACT_RECORDS`` at most."""
    order = sorted(range(len(scored)), key=lambda i: -(scored[i].similarity + 0.5 * scored[i].coverage))
    per_day: dict[dt.date, int] = {}
    chosen: dict[str, None] = {}
    for i in order:
        record = scored[i].record
        if per_day.get(record.day, 0) >= EXACT_PER_DAY or record.sentence in chosen:
            continue
        per_day[record.day] = per_day.get(record.day, 0) + 1
        chosen[record.sentence] = None
        if len(chosen) == EXACT_RECORDS:
            break
    return list(chosen)


def _covered(terms: list[str], keys: dict[str, str], text_terms: set[str]) -> set[str]:
    """The question's terms a text (its ``stem_terms``, with compounds) holds, in any form of the word."""
    found = covered_terms([keys[t] for t in terms], text_terms)
    return {t for t in terms if keys[t] in found}


# ---- grouping reports into events and choosing one -------------------------------------------


@dataclass
class EventGroup:
    """Reports of one event: records within a day or so of each other, from one or more articles."""

    day: dt.date
    precision: Precision
    members: list[ScoredRecord]
    #: The best member's relevance, and that with the support of further articles added.
    top: float = 0.0
    score: float = 0.0

    @property
    def articles(self) -> int:
        return len({m.record.article_id for m in self.members})

    def ranked(self) -> list[ScoredRecord]:
        """The members, the best report first, then by relevance."""
        best = self.best
        return [best, *sorted((m for m in self.members if m is not best), key=lambda m: -m.relevance)]

    @property
    def best(self) -> ScoredRecord:
        """The member that states the group's day most relevantly (stated dates before carried ones)."""
        on_day = [m for m in self.members if m.record.day == self.day and m.record.precision == self.precision]
        return max(
            on_day or self.members,
            key=lambda m: (m.record.how != COUNTED, m.record.how == STATED, m.record.explicit, m.relevance),
        )


#: Reports of one event within this many days of the group's first are the same event.
SAME_EVENT_DAYS = 1
#: Each further article reporting the event adds to its score, with diminishing returns.
SUPPORT_WEIGHT = 0.09
#: A record reports the question's event only with at least this relevance...
MIN_RECORD = 0.40
#: ...and this share of the question's terms (by rarity) in its sentence, neighbours or title...
MIN_COVERAGE = 0.5
#: ...and within this much of the best record: a passing mention is not a report.
RECORD_MARGIN = 0.35
#: Groups this far below the best group still count as occurrences when choosing the last or first.
GROUP_MARGIN = 0.1
#: A group's relevance is half its best report's and half the mean of its best ``SCORE_REPORTS``
#: articles' reports: one sentence that happens to repeat the question's words does not outweigh
#: several that report the event in their own words (same accuracy on the when set, one strong
#: look-back no longer hides a later occurrence).
SCORE_REPORTS = 3
SCORE_MIX = 0.5


def group_events(scored: list[ScoredRecord]) -> list[EventGroup]:
    """Records grouped by day (precise ones within ``SAME_EVENT_DAYS``), each group dated by the day
    its reports state most, weighted by relevance; coarse dates grouped by their own period."""
    if not scored:
        return []
    floor = max(MIN_RECORD, max(s.relevance for s in scored) - RECORD_MARGIN)
    kept = [s for s in scored if s.relevance >= floor and s.coverage >= MIN_COVERAGE]
    kept = _best_per_sentence(kept)
    groups: list[EventGroup] = []
    precise = sorted((s for s in kept if s.record.precision == "day"), key=lambda s: s.record.day)
    run: list[ScoredRecord] = []
    for item in [*precise, None]:
        if run and (item is None or (item.record.day - run[0].record.day).days > SAME_EVENT_DAYS):
            groups.append(_group(run, "day"))
            run = []
        if item is not None:
            run.append(item)
    coarse: dict[tuple[dt.date, Precision], list[ScoredRecord]] = {}
    for item in kept:
        if item.record.precision != "day":
            coarse.setdefault((item.record.day, item.record.precision), []).append(item)
    groups += [_group(members, precision) for (_, precision), members in coarse.items()]
    return groups


def _best_per_sentence(records: list[ScoredRecord]) -> list[ScoredRecord]:
    """Of the days one sentence states, only the one it dates the event by (the most relevant):
    "missiles hit the base on Saturday, the Pentagon said on Monday" is one event, on Saturday."""
    best: dict[tuple[str, int], ScoredRecord] = {}
    for item in records:
        key = (item.record.article_id, item.record.sentence_start)
        if key not in best or item.relevance > best[key].relevance:
            best[key] = item
    return [item for item in records if best[(item.record.article_id, item.record.sentence_start)] is item]


def _group(members: list[ScoredRecord], precision: Precision) -> EventGroup:
    votes: dict[dt.date, float] = {}
    for m in members:
        votes[m.record.day] = votes.get(m.record.day, 0.0) + m.relevance
    day = max(votes, key=lambda d: (votes[d], -d.toordinal()))
    top = max(m.relevance for m in members)
    best_per_article: dict[str, float] = {}
    for m in members:
        best_per_article[m.record.article_id] = max(best_per_article.get(m.record.article_id, 0.0), m.relevance)
    # Syndicated copies (the same sentence in several articles) are one report.
    articles = len({" ".join(m.record.sentence.split()).lower() for m in members})
    reports = sorted(best_per_article.values(), reverse=True)[:SCORE_REPORTS]
    base = (1 - SCORE_MIX) * top + SCORE_MIX * sum(reports) / len(reports)
    score = base + SUPPORT_WEIGHT * math.log1p(articles - 1)
    return EventGroup(day=day, precision=precision, members=members, top=top, score=score)


def choose(groups: list[EventGroup], order: str | None) -> EventGroup | None:
    """The group that answers. Day-precise groups answer when there are any (a year is not the
    day the question asks for); among them, for "last" the latest and for "first" the earliest of
    those whose score (relevance and support) is near the best, otherwise the best."""
    if not groups:
        return None
    pool = [g for g in groups if g.precision == "day"] or groups
    best = max(g.score for g in pool)
    near = [g for g in pool if g.score >= best - GROUP_MARGIN]
    if order == "last":
        return max(near, key=lambda g: (g.day, g.score))
    if order == "first":
        return min(near, key=lambda g: (_period_end(g), -g.score))
    return max(near, key=lambda g: g.score)


def _period_end(group: EventGroup) -> dt.date:
    return precision_end(group.day, group.precision)


def contained(day: dt.date, precision: Precision, since: dt.date | None, until: dt.date | None) -> bool:
    """Whether a date of this precision can fall within [since, until]."""
    if since and precision_end(day, precision) < since:
        return False
    return not (until and day > until)


# ---- what a question gets -----------------------------------------------------------------------


def event_answer(question: str, group: EventGroup, groups: list[EventGroup], max_citations: int) -> Answer:
    """The answer a chosen group gives: its day, the best report's quote first, then the other
    articles that report the same day, then the other occurrences (as context)."""
    best = group.best
    record = best.record
    citations = [record.citation()]
    seen = {record.article_id}
    for member in sorted(group.members, key=lambda m: -m.relevance):
        if member.record.article_id not in seen and member.record.day == group.day:
            seen.add(member.record.article_id)
            citations.append(member.record.citation())
    others = len(groups) - 1
    message = f"{group.articles} article(s) report this day" + (f"; {others} other dated occurrence(s) found" if others else "")
    return Answer(
        question=question,
        answer=format_day(group.day, group.precision, month_first(_date_words(record))),
        date=group.day.isoformat(),
        precision=group.precision,
        confidence=_confidence(group.score),
        citations=_fold_copies(citations)[:max_citations],
        message=message,
    )


def event_timeline(query: str, groups: list[EventGroup]) -> Timeline:
    """Every group near the best, oldest first; a coarse date holding a precise group is that group."""
    if not groups:
        return Timeline(query=query, events=[])
    pool = [g for g in groups if g.precision == "day"] or groups
    best = max(g.score for g in pool)
    near = [g for g in groups if g.score >= best - TIMELINE_MARGIN]
    # What "when ... first" and "when ... last" would answer is on the timeline too.
    near += [g for g in (choose(groups, "first"), choose(groups, "last")) if g is not None and g not in near]
    precise = [g for g in near if g.precision == "day"]
    kept = precise + [
        g for g in near if g.precision != "day" and not any(g.day <= p.day <= precision_end(g.day, g.precision) for p in precise)
    ]
    events = []
    for group in sorted(kept, key=lambda g: (g.day, PRECISIONS.index(g.precision))):
        members = sorted(group.members, key=lambda m: (m.record.day != group.day, -m.relevance))
        citations, seen = [], set()
        for member in members:
            if member.record.article_id not in seen:
                seen.add(member.record.article_id)
                citations.append(member.record.citation())
        events.append(
            TimelineEvent(
                date=group.day.isoformat(),
                precision=group.precision,
                quote=group.best.record.quote,
                score=round(group.score, 4),
                citations=_fold_copies(citations),
            )
        )
    return Timeline(query=query, events=events)


def _fold_copies(citations: list[Citation]) -> list[Citation]:
    """Citations quoting the same words in other articles (syndicated copies) become copies of the first."""
    kept: dict[str, Citation] = {}
    for citation in citations:
        key = " ".join(citation.quote.split()).lower()
        if key in kept:
            first = kept[key]
            located = citation.model_dump(include=set(Located.model_fields))
            first.copies.append(Copy(**located, exact=citation.quote == first.quote))
        else:
            kept[key] = citation
    return list(kept.values())


#: Groups this far below the best one are drawn on a timeline.
TIMELINE_MARGIN = 0.15


def _date_words(record: EventRecord) -> str:
    """How the quote writes the date (for "January 20" vs "20 January" in the answer)."""
    return record.quote[record.date_start - record.start : record.date_end - record.start] if record.date_start >= 0 else ""


def _confidence(score: float) -> float:
    return round(float(np.clip((score - 0.35) / 0.65 * 0.7 + 0.3, 0.0, 1.0)), 3)
