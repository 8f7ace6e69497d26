"""``Archive``: the one object that ingests, searches, answers and reports on a news archive."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Literal

import numpy as np

from qa.answer import (
    MIN_RELEVANCE,
    Intent,
    Sentence,
    build_timeline,
    calibrated_similarity,
    compose_answer,
    exact_shortlist,
    plain_question,
    question_names,
    question_terms,
    read_intent,
    score_sentences,
    score_terms,
    sentences_of,
)
from qa.dates import parse_date
from qa.embed import Encoder, Precision, compatible, limit_blas_threads
from qa.errors import DatelineError
from qa.event_vectors import SentenceFill, SentenceFillReport, own_similarities
from qa.events import EventIndex, event_sentences
from qa.index import ChromaStore, text_hash
from qa.ingest import read_paths
from qa.llm import LLMReader, Token, extractive_instead, llm_answer
from qa.models import Answer, Article, IngestError, IngestReport, Passage, PassedOver, QuoteChecks, Stats, Timeline
from qa.pipeline import FillReport, IngestPipeline, Progress, VectorFill, on_ctrl_c
from qa.retrieve import Filters, Retriever, collapse_copies
from qa.settings import Settings
from qa.spans import SpanExtractor
from qa.when import EventGroup, choose, event_answer, event_timeline, group_events, score_records

DateLike = dt.date | str | None
#: Who writes the answer: the extractive reader (always there) or the configured LLM (``qa.llm``).
Reader = Literal["extractive", "llm"]

#: Event records considered per question, by meaning and by words each (see ``qa.events``).
EVENT_CANDIDATES = 300
#: Passages read per question before sentences are scored.
ASK_DEPTH = 12
#: A question about the last few days ("this week") reads what was published in them first, and
#: this many days before them (a report dated the day after the event)...
RECENT_SLACK_DAYS = 1
#: ...as this share of its passages; the best of the whole window fill the rest. Measured with
#: `dateline eval` (share 1 -> 2/3: recall@10 0.498 -> 0.525, accuracy unchanged within a question).
RECENT_SHARE = 2 / 3
#: Passages are shown in the order of two ranks fused, each worth 1 / (PASSAGE_RRF_K + rank): their
#: rank from retrieval and the rank of their best sentence for the question (``_by_sentences``).
#: `dateline eval` on RealTime QA (2026-11-26): recall@1/5/10 0.325/0.469/0.528 in retrieval's
#: order; 0.305/0.498/0.541 by best sentence alone; fused with k = 2, 5, 10: recall@5 0.505,
#: 0.505, 0.498 and recall@1 0.341, 0.348, 0.348. Reading 20 or 40 passages instead of 12 gained nothing.
PASSAGE_RRF_K = 5


class Archive:
    """A news archive indexed in Chroma.

    >>> archive = Archive.open("indexes/demo")  # doctest: +SKIP
    >>> archive.ingest(["corpus"]).articles_added  # doctest: +SKIP
    36
    >>> archive.ask("When was Ain al-Asad last hit by ballistic missiles?").date  # doctest: +SKIP
    '2024-01-20'
    """

    def __init__(self, store: ChromaStore, settings: Settings) -> None:
        self.settings = settings
        limit_blas_threads(settings.blas_threads)
        self.store = store
        self.encoder = Encoder.shared(settings.resolved_model_dir(), settings.encode_batch_size, _precision(store, settings))
        self.retriever = Retriever(store, self.encoder)
        self._events: tuple[tuple[int, int], EventIndex] | None = None

    @classmethod
    def open(cls, path: str | Path | None = None, *, settings: Settings | None = None, create: bool = True) -> Archive:
        """Open (or, with ``create``, make) the index at ``path``; ``DATELINE_CHROMA_URL`` selects a server."""
        settings = settings or Settings()
        if path is not None:
            settings = settings.model_copy(update={"index": Path(path)})
        return cls(ChromaStore(settings.index, settings.chroma_url, create=create), settings)

    # ---- ingest --------------------------------------------------------------------------

    def ingest(self, sources: Iterable[str | Path | Article], progress: Progress | None = None, *, embed: bool = True) -> IngestReport:
        """Index files, folders or ``Article`` objects; unchanged articles are skipped, changed ones replaced.

        Two phases (``qa.pipeline``): the articles are written first, searchable by words and dates
        as each batch lands; then every chunk still without its vector gets one (``embed``; off,
        they wait for the next ingest or ``embed()``). A bad record is reported in ``errors`` and
        the rest are indexed. Ctrl-C stops either phase after the batch being written, which is
        committed whole; ``interrupted`` says so, and the next ingest continues.
        """
        return self.ingest_records(self._records(sources), progress, embed=embed)

    def ingest_records(
        self, records: Iterable[Article | IngestError | PassedOver], progress: Progress | None = None, *, embed: bool = True
    ) -> IngestReport:
        """Index already-read records (``qa.ingest.read_records``); errors among them are reported as they are."""
        self._check_encoder()
        pressed = threading.Event()  # a Ctrl-C between the phases, or one the read phase took after its last batch
        with on_ctrl_c(pressed.set):
            pipeline = IngestPipeline(self.store, self.encoder, self.settings)
            try:
                report = pipeline.run(records, progress)
            finally:
                self.retriever.invalidate()
            if not embed and not report.interrupted:
                # Searchable now: the lexical index is made (and saved) here, not by the first search.
                started = time.perf_counter()
                self.retriever.lexical  # noqa: B018
                report.read_seconds = round(report.read_seconds + time.perf_counter() - started, 3)
            if embed and not report.interrupted:
                if pipeline.stop_requested or pressed.is_set():
                    report.interrupted = True  # read whole, vectors left for the next run
                else:
                    fill = self.embed(progress)
                    update = {"embedded": fill.embedded, "encoded": fill.encoded, "embed_seconds": fill.seconds}
                    update |= {"sentences": fill.sentences, "sentences_pending": fill.sentences_pending}
                    update |= {"sentence_seconds": fill.sentence_seconds}
                    report = report.model_copy(update={**update, "interrupted": fill.interrupted})
        return report.model_copy(update={"pending": self.store.pending_count()})

    def embed(self, progress: Progress | None = None, *, sentences: bool = True) -> FillReport:
        """Compute the vectors of every chunk written without one (``qa.pipeline.VectorFill``);
        until then those chunks are found by their words only. Then, with ``sentences``, encode
        each event sentence on its own (``encode_event_sentences``). Ctrl-C stops after the batch in hand."""
        self._check_encoder()
        try:
            report = VectorFill(self.store, self.encoder, self.settings).run(progress)
        finally:
            self.retriever.invalidate()
        if sentences and not report.interrupted and not report.pending:
            own = self.encode_event_sentences(progress)
            report.add_sentences(own)
            report.interrupted = own.interrupted
        return report

    def encode_event_sentences(self, progress: Progress | None = None, fill: SentenceFill | None = None) -> SentenceFillReport:
        """Encode each distinct sentence of the event index on its own (``qa.event_vectors``), the
        ones already stored skipped; when-questions and timelines use them as they land."""
        self._check_encoder()
        # The event index if it is in memory for the store's version; else its sentences alone,
        # read from the store (the whole index would be built and held just for them).
        started = time.perf_counter()
        known = self._events
        sentences = known[1].sentences() if known and known[0] == self.retriever.store_version() else event_sentences(self.store)
        reading = time.perf_counter() - started
        report = (fill or SentenceFill(self.store.sentences, self.encoder)).run(sentences, progress)
        report.seconds = round(report.seconds + reading, 3)  # finding the sentences counts too
        return report

    def embed_in_background(self) -> BackgroundFill:
        """``embed`` in a thread while the archive answers (``dateline serve`` on an index with chunks
        still pending). Questions take turns with it on the encoder, a batch of 8 texts at a time.
        When it ends, the lexical and event indexes are made again for the new vectors, the old
        ones answering meanwhile."""
        self._check_encoder()
        return BackgroundFill(self, VectorFill(self.store, self.encoder, self.settings))

    def _check_encoder(self) -> None:
        """Record the encoder in a new index; refuse to mix vectors that do not compare into one."""
        recorded = self.store.recorded_encoder()
        if recorded is None:
            with contextlib.suppress(Exception):  # a read-only or older server: the index just records nothing
                self.store.record_encoder(self.encoder.name)
        elif not compatible(recorded, self.encoder.name):
            raise DatelineError(
                f"{self.store.location} was built with the encoder {recorded!r}, not {self.encoder.name!r}: "
                "their vectors do not compare; ingest into a new index, or set DATELINE_MODEL_DIR and "
                "DATELINE_ENCODER_PRECISION back"
            )

    @staticmethod
    def _records(sources: Iterable[str | Path | Article]) -> Iterator[Article | IngestError | PassedOver]:
        for source in sources:
            if isinstance(source, Article):
                yield source
            else:
                yield from read_paths([source])

    # ---- questions -----------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        since: DateLike = None,
        until: DateLike = None,
        source: str | Iterable[str] | None = None,
        as_of: DateLike = None,
    ) -> list[Passage]:
        """The ``k`` passages that best match ``query``, filtered by publication day and source."""
        return self.retriever.search(plain_question(query), k, _filters(since, until, source, as_of))

    def ask(
        self,
        question: str,
        *,
        as_of: DateLike = None,
        since: DateLike = None,
        until: DateLike = None,
        source: str | Iterable[str] | None = None,
        k: int = 5,
        reader: Reader = "extractive",
    ) -> Answer:
        """Answer ``question`` from the archive with verbatim citations (at most ``k``). ``reader="llm"``
        has the configured LLM (``qa.llm``) write the answer from the same passages, its quotes verified."""
        *_, answer = self.ask_stream(question, as_of=as_of, since=since, until=until, source=source, k=k, reader=reader)
        assert isinstance(answer, Answer)
        return answer

    @property
    def llm(self) -> LLMReader | None:
        """The LLM reader the settings configure, or None."""
        s = self.settings
        return LLMReader(s.llm_url, s.llm_model, s.llm_api_key, s.llm_timeout, s.llm_max_tokens) if s.llm_url else None

    def ask_stream(
        self,
        question: str,
        *,
        as_of: DateLike = None,
        since: DateLike = None,
        until: DateLike = None,
        source: str | Iterable[str] | None = None,
        k: int = 5,
        reader: Reader = "extractive",
    ) -> Iterator[Passage | Token | Answer]:
        """``ask`` step by step: the passages read, best first, then (LLM reader) the reply's tokens as
        they come, then the ``Answer`` last."""
        share = self.embedded_share()
        for step in self._ask_stream(question, as_of, since, until, source, k, reader):
            yield step.model_copy(update={"embedded_share": share}) if isinstance(step, Answer) and share < 1 else step

    def _ask_stream(
        self, question: str, as_of: DateLike, since: DateLike, until: DateLike, source: str | Iterable[str] | None, k: int, reader: Reader
    ) -> Iterator[Passage | Token | Answer]:
        if reader not in ("extractive", "llm"):
            raise DatelineError(f"unknown reader {reader!r}: 'extractive' or 'llm'")
        llm = self.llm if reader == "llm" else None
        if llm is None:
            for step in self._extractive_stream(question, as_of, since, until, source, k):
                if isinstance(step, Answer) and reader == "llm":
                    note = "The LLM reader was asked for, but no LLM is configured (DATELINE_LLM_URL); this is the extractive answer."
                    step = extractive_instead(step, note, QuoteChecks(fallback="not configured"))
                yield step
            return
        passages: list[Passage] = []
        answer: Answer | None = None
        for step in self._extractive_stream(question, as_of, since, until, source, k):
            if isinstance(step, Answer):
                answer = step
            else:
                passages.append(step)
                yield step
        assert answer is not None
        events = self.timeline(question, as_of=as_of, since=since, until=until, source=source).events if answer.date else []
        day = parse_date(as_of, field="as_of")
        read = passages[:ASK_DEPTH]
        yield from _streamed(lambda on_token: llm_answer(llm, plain_question(question), day, read, events, answer, on_token))

    def _extractive_stream(
        self, question: str, as_of: DateLike, since: DateLike, until: DateLike, source: str | Iterable[str] | None, k: int
    ) -> Iterator[Passage | Answer]:
        question = plain_question(question)
        intent = read_intent(question)
        filters = _event_filters(_filters(since, until, source, as_of), intent)
        recent = _recent_start(filters, intent)
        if intent.when and recent is None:
            groups = self.dated_events(question, intent, filters)
            chosen = choose(groups, intent.order, question)
            if chosen is not None:
                yield from self.retriever.passages([m.record.chunk_id for m in chosen.ranked()] + _other_chunks(groups, chosen), ASK_DEPTH)
                yield event_answer(question, chosen, groups, k)
                return
        passages = self._passages(question, filters, recent)
        sentences = self._scored_sentences(question, passages, intent, filters.last_day, dated=intent.when)
        yield from _by_sentences(passages, sentences)
        if recent:
            sentences = _prefer_published_since(sentences, recent)
        yield compose_answer(
            question,
            sentences,
            intent,
            filters.last_day,
            max_citations=k,
            spans=SpanExtractor.shared(),
            specificity=self.retriever.lexical.specificity,
            similarity=self.encoder.similarity,
        )

    def timeline(
        self,
        query: str,
        *,
        as_of: DateLike = None,
        since: DateLike = None,
        until: DateLike = None,
        source: str | Iterable[str] | None = None,
    ) -> Timeline:
        """Dated events matching ``query``, oldest first, repeated reports of one day merged."""
        query = plain_question(query)
        intent = read_intent(query)
        filters = _event_filters(_filters(since, until, source, as_of), intent)
        groups = self.dated_events(query, intent, filters, timeline=True)
        if groups:
            timeline = event_timeline(query, groups, happened=not intent.future)
        else:
            passages = self._passages(query, filters, _recent_start(filters, intent), depth=ASK_DEPTH * 2)
            sentences = self._scored_sentences(query, passages, intent, filters.last_day, dated=True)
            timeline = build_timeline(query, sentences, intent, filters.last_day)
        return timeline.model_copy(update={"as_of": filters.as_of.isoformat() if filters.as_of else None})

    # ---- the event index -------------------------------------------------------------------

    @property
    def events(self) -> EventIndex:
        """The event index (``qa.events``) for the store as the lexical index last saw it: loaded if
        one was saved for that version, else built from the store and saved."""
        version = self.retriever.version  # loads (or refreshes) the lexical index first
        if self._events is None or self._events[0] != version:
            folder = self.store.derived_folder
            index = EventIndex.load(folder, *version) if folder else None
            if index is None:
                # Chunks still pending have no sentence vectors: their records are found by words
                # until the fill ends and the index is made again. Others lacking them (an index
                # from before sentence vectors) get them computed now.
                pending = self.store.pending_count() > 0
                index = EventIndex.build(self.store, None if pending else lambda texts: self.encoder.encode_passages(texts)[1])
                if folder:
                    with contextlib.suppress(OSError):  # a read-only index still answers; it rebuilds next time
                        index.save(folder, *version)
            self._events = (version, index)
        return self._events[1]

    def dated_events(self, question: str, intent: Intent, filters: Filters, *, timeline: bool = False) -> list[EventGroup]:
        """Reports of the question's event anywhere in the archive (within the filters and the days
        the question allows), grouped by day: what "when", "last", "first" and timelines choose from.

        The as-of day bounds the day an event happened, not the day it was reported: a report
        written later about an earlier day ("the strike on January 8, 2020", in 2024) dates it,
        often better than the first reports did. ``until`` bounds publication, for an answer from
        what had been published by then. For a ``timeline`` every occurrence counts alike, whether
        or not its date belongs to the question's words (``qa.when.GOVERNED_GAIN``)."""
        index = self.events
        if not len(index):
            return []
        lexical = self.retriever.lexical
        day_until = filters.last_day if not intent.future else None
        if intent.until and (day_until is None or intent.until < day_until):
            day_until = intent.until
        admitted = index.mask(
            published_since=filters.since,
            published_until=filters.until,
            day_since=intent.since,
            day_until=day_until,
            sources=filters.sources,
        )
        terms = question_terms(question)
        vector = self.encoder.encode_queries([question])[0]
        rows = index.candidates(terms, vector, admitted, lexical.idf, EVENT_CANDIDATES)
        scored = score_records(
            index,
            rows,
            question,
            terms,
            vector,
            lexical.idf,
            question_names(question),
            exact=lambda texts: self.encoder.encode(texts) @ vector,
            order=intent.order,
            stored=lambda texts: own_similarities(self.store.sentences, texts, vector),
            governed=not timeline,
            ends=intent.ends,
        )
        return group_events(scored, intent.ends)

    def _scored_sentences(
        self, question: str, passages: list[Passage], intent: Intent, as_of: dt.date | None, dated: bool
    ) -> list[Sentence]:
        """Score every sentence with its pooled vector, then the few that can decide the answer with
        their own encoding (see ``qa.answer.exact_shortlist``)."""
        sentences = sentences_of(passages)
        if not sentences:
            return sentences
        question_vector = self.encoder.encode_queries([question])[0]
        pooled = self._sentence_vectors(sentences) @ question_vector
        score_terms(question, sentences, self.retriever.lexical.idf)
        score_sentences(sentences, pooled)
        chosen = exact_shortlist(sentences, intent, as_of, dated)
        exact = self.encoder.encode([sentences[i].text for i in chosen]) @ question_vector
        score_sentences(sentences, calibrated_similarity(pooled, exact, chosen))
        return sentences

    def _sentence_vectors(self, sentences: list[Sentence]) -> np.ndarray:
        """Each sentence's vector, pooled at ingest from its chunk (``qa.sentence_vectors``); chunks
        stored without them are encoded now, the same way, and the result kept."""
        hashes = {s.passage.chunk_id: text_hash(s.passage.text) for s in sentences}
        texts = {hashes[s.passage.chunk_id]: s.passage.text for s in sentences}
        stored = self.store.sentences.get(list(texts))
        missing = [h for h in texts if h not in stored]
        if missing:
            _, computed = self.encoder.encode_passages([texts[h] for h in missing])
            fresh = list(zip(missing, computed, strict=True))
            with contextlib.suppress(sqlite3.Error):  # a cache: an index that cannot be written still answers
                self.store.sentences.put(fresh)
            stored.update(fresh)
        rows = np.zeros((len(sentences), self.encoder.dimensions), dtype=np.float32)
        for row, sentence in enumerate(sentences):
            vector = stored[hashes[sentence.passage.chunk_id]].lookup(sentence.start - sentence.passage.start)
            if vector is not None:
                rows[row] = vector
        return rows

    def _passages(self, question: str, filters: Filters, recent: dt.date | None, depth: int | None = None) -> list[Passage]:
        """The passages to answer from. A question about the last few days (``recent``: the first
        of them, see ``_recent_start``) reads what was published since then first; the best of
        the rest of the window come after them (``RECENT_SHARE``)."""
        depth = depth or ASK_DEPTH
        if recent is None:
            return self.retriever.search(question, depth, filters)
        latest = self.retriever.search(question, depth, dataclasses.replace(filters, since=recent))
        keep = round(depth * RECENT_SHARE)
        return _merge(latest[:keep], self.retriever.search(question, depth, filters), depth)

    # ---- reports -------------------------------------------------------------------------

    def article(self, article_id: str) -> Article | None:
        """The stored article (full text), so a citation can be read in context."""
        return self.store.article(article_id)

    def verify(self) -> list[str]:
        """What is wrong with the index, if anything: articles missing chunks, chunks of uncommitted articles."""
        return self.store.verify()

    def article_count(self) -> int:
        """How many articles are committed; cheap, unlike ``stats`` (which sums chunks over every article)."""
        return self.store.article_count()

    def stats(self) -> Stats:
        articles, chunks = self.store.counts()
        embedded = max(chunks - self.store.pending_count(), 0)
        return Stats(articles=articles, chunks=chunks, embedded=embedded, encoder=self.store.recorded_encoder())

    def embedded_share(self) -> float:
        """Share of the chunks that have their vectors (cheap: two counts, orphans included)."""
        pending = self.store.pending_count()
        return 1.0 if not pending else round(1 - pending / max(self.store.passages.count() + pending, 1), 4)


class BackgroundFill:
    """A vector fill running in a thread, then the event sentences' own encoding
    (``Archive.encode_event_sentences``); ``stop`` ends it after the batch in hand."""

    def __init__(self, archive: Archive, fill: VectorFill) -> None:
        self.fill = fill
        self.sentences = SentenceFill(archive.store.sentences, archive.encoder)
        self.report: FillReport | None = None
        self._archive = archive
        self._thread = threading.Thread(target=self._run, name="dateline-fill", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.report = self.fill.run()
        finally:
            self._archive.retriever.refresh()
            self._archive.events  # noqa: B018 -- made now, not by the next when-question
        if not self.report.interrupted and not self.report.pending and not self.sentences.stop_requested:
            self.report.add_sentences(self._archive.encode_event_sentences(fill=self.sentences))

    def stop(self, timeout: float | None = None) -> None:
        self.fill.interrupt()
        self.sentences.interrupt()
        self.join(timeout)

    def join(self, timeout: float | None = None) -> None:
        """Wait until the fill has ended (and the indexes derived from the store are made again)."""
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


def _precision(store: ChromaStore, settings: Settings) -> Precision:
    """The precision queries are encoded in: the one the index records, unless the settings name one."""
    recorded = store.recorded_encoder()
    if settings.encoder_precision != "auto" or not recorded:
        return settings.encoder_precision
    if recorded.endswith(" int8"):
        return "int8"
    # float32 and bfloat16 vectors agree to a cosine of 0.9999: bfloat16 is kept only where it is fast.
    return "float32" if recorded.endswith(" float32") else "auto"


def _other_chunks(groups: list[EventGroup], chosen: EventGroup) -> list[str]:
    """The chunks of the best report of each other occurrence, best first: the time line around the answer."""
    return [g.best.record.chunk_id for g in sorted(groups, key=lambda g: -g.score) if g is not chosen]


def _filters(since: DateLike, until: DateLike, source: str | Iterable[str] | None, as_of: DateLike) -> Filters:
    sources = (source,) if isinstance(source, str) else tuple(source or ())
    return Filters(
        since=parse_date(since, field="since"),
        until=parse_date(until, field="until"),
        sources=sources,
        as_of=parse_date(as_of, field="as_of"),
    )


def _event_filters(filters: Filters, intent: Intent) -> Filters:
    """``filters`` narrowed to the question's years: an article published before them cannot report an event inside them."""
    if intent.since and (filters.since is None or filters.since < intent.since):
        return dataclasses.replace(filters, since=intent.since)
    return filters


def _recent_start(filters: Filters, intent: Intent) -> dt.date | None:
    """First publication day of the last days a question asks about ("this week"), counted back
    from its as-of day (else today); None when it asks about no such days or the filters are narrower."""
    if intent.recent_days is None:
        return None
    start = (filters.last_day or dt.date.today()) - dt.timedelta(days=intent.recent_days + RECENT_SLACK_DAYS)
    return start if filters.since is None or filters.since < start else None


def _prefer_published_since(sentences: list[Sentence], start: dt.date) -> list[Sentence]:
    """Only the sentences of articles published since ``start``, if one of them is relevant enough to answer."""
    day = start.isoformat()
    recent = [s for s in sentences if s.passage.published and s.passage.published[:10] >= day]
    return recent if any(s.relevance >= MIN_RELEVANCE for s in recent) else sentences


def _by_sentences(passages: list[Passage], sentences: list[Sentence]) -> list[Passage]:
    """``passages`` reordered by their retrieval rank fused with the rank of their best sentence
    (``PASSAGE_RRF_K``): a passage that states the answer rises above one that only shares the
    question's words with it."""
    best: dict[str, float] = {}
    for sentence in sentences:
        chunk = sentence.passage.chunk_id
        best[chunk] = max(best.get(chunk, -1.0), sentence.relevance)
    by_sentence = sorted(range(len(passages)), key=lambda i: -best.get(passages[i].chunk_id, -1.0))
    fused = [1 / (PASSAGE_RRF_K + i) for i in range(len(passages))]
    for rank, i in enumerate(by_sentence):
        fused[i] += 1 / (PASSAGE_RRF_K + rank)
    return [passages[i] for i in sorted(range(len(passages)), key=lambda i: -fused[i])]


def _merge(recent: list[Passage], others: list[Passage], depth: int) -> list[Passage]:
    """The recent passages first, then the others, without repeats, ``depth`` in all."""
    seen = {p.chunk_id for p in recent}
    return collapse_copies(recent + [p for p in others if p.chunk_id not in seen])[:depth]


def _streamed(work: Callable[[Callable[[str], None]], Answer]) -> Iterator[Token | Answer]:
    """Runs ``work`` in a thread, yielding the tokens it reports as they come, then its answer."""
    pieces: queue.Queue[str | None] = queue.Queue()
    result: list[Answer] = []

    def run() -> None:
        try:
            result.append(work(pieces.put))
        finally:
            pieces.put(None)

    thread = threading.Thread(target=run, name="dateline-llm", daemon=True)
    thread.start()
    while (piece := pieces.get()) is not None:
        yield Token(text=piece)
    thread.join()
    if not result:
        raise DatelineError("the LLM reader failed; see the server log")
    yield result[0]
