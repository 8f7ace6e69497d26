"""Ingest in two phases: lexical first, then the vectors filled in behind.

On a CPU without bfloat16 in hardware the encoder runs at about 14 chunks a second on two
cores: an archive of 20,000 articles would take hours before its first question. So ingest
first makes articles findable by words and dates, and only then computes their vectors:

1. **Read** (``IngestPipeline``): one thread reads articles, skips unchanged ones, chunks them and
   resolves their dates; the calling thread writes each batch to the store, its chunks *pending*
   (text and metadata, no vector; see ``qa.index``) and then the article records that commit
   them. Lexical search, dates and the event index work as soon as a batch is written.
2. **Embed** (``VectorFill``): one thread reads pending chunks a batch at a time, the calling
   thread encodes each distinct text once (a text already embedded, a syndicated copy or
   boilerplate, reuses its stored vector), one thread writes the vectors. The same forward pass
   gives each sentence of a chunk its vector (``qa.sentence_vectors``), for answering.

Each batch is written whole in both phases, so stopping at any moment leaves only complete
articles visible and every chunk either pending or embedded; the next run continues with what
is still pending. Ctrl-C stops either phase after the batch in hand.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import ctypes.util
import logging
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from qa.chunk import Chunker
from qa.chunk_worker import Chunked, ChunkWorkers, Texts, chunk_texts
from qa.embed import Encoder
from qa.index import ChromaStore, ChunkRecord
from qa.models import Article, EventDate, IngestError, IngestReport, PassedOver
from qa.sentence_vectors import SentenceVectors
from qa.settings import Settings

if TYPE_CHECKING:
    from qa.event_vectors import SentenceFillReport

Phase = Literal["read", "embed"]
_DONE = object()
#: Vectors of texts encoded in this fill, kept to serve repeats in later batches (about 1.5 kB each).
RECENT_VECTORS = 50_000


class Progress(Protocol):
    """Told of work done as it happens: ``done`` more articles read (``"read"``, total unknown) or
    chunks embedded (``"embed"``, out of ``total``)."""

    def __call__(self, phase: Phase, done: int, total: int | None) -> None: ...


class _Stages:
    """Three stages that overlap: a thread produces work, the calling thread does the heavy part,
    a thread writes; Ctrl-C (or ``interrupt``) stops after the item being written."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._interrupted = threading.Event()
        self._failure: BaseException | None = None

    @property
    def stop_requested(self) -> bool:
        """Whether Ctrl-C (or ``interrupt``) came, even after the last batch."""
        return self._interrupted.is_set()

    def interrupt(self) -> None:
        """Stop after the batch being written; everything written stays whole. Safe from any thread."""
        self._interrupted.set()
        self._stop.set()

    def _on_ctrl_c(self) -> None:
        """The first Ctrl-C sets a flag the main loop checks between and after batches; the second interrupts at once."""
        if self._interrupted.is_set():
            raise KeyboardInterrupt
        self.interrupt()

    def _stages(self, produce: Callable[[queue.Queue[object]], None], work: Callable[[Any], None], write: Callable[[Any], None]) -> bool:
        """Run the three stages to the end or to an interruption; True when everything produced was written."""
        produced: queue.Queue[object] = queue.Queue(maxsize=2)
        done: queue.Queue[object] = queue.Queue(maxsize=2)
        producer = threading.Thread(target=self._guard, args=(produce, produced), name="dateline-produce", daemon=True)
        writer = threading.Thread(target=self._writes, args=(write, done), name="dateline-write", daemon=True)
        producer.start()
        writer.start()
        finished = False
        with on_ctrl_c(self._on_ctrl_c):
            try:
                while not self._interrupted.is_set() and self._failure is None:
                    if (item := produced.get()) is _DONE:
                        finished = True
                        break
                    work(item)
                    done.put(item)  # worked on whole, so written whole even if Ctrl-C came meanwhile
                    _release_free_memory()
            except KeyboardInterrupt:  # a second Ctrl-C, or one while the handler could not be installed
                self._interrupted.set()
            finally:
                done.put(_DONE)
                writer.join()  # items already worked on are written whole, even after Ctrl-C
                self._stop.set()
                _drain(produced)
        if self._failure is not None:
            raise self._failure
        return finished

    def _guard(self, produce: Callable[[queue.Queue[object]], None], out: queue.Queue[object]) -> None:
        try:
            produce(out)
        except BaseException as exc:  # re-raised in the calling thread by _stages()
            self._failed(exc)
            out.put(_DONE)

    def _writes(self, write: Callable[[Any], None], done: queue.Queue[object]) -> None:
        """Write each item; after a failure, only take them off the queue (the calling thread stops)."""
        while (item := done.get()) is not _DONE:
            if self._failure is None:
                try:
                    write(item)
                except BaseException as exc:  # re-raised in the calling thread by _stages()
                    self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        self._failure = exc
        self._stop.set()


@dataclass
class Batch:
    """Articles to (re)write with all their chunks, and how many unchanged ones were passed by."""

    articles: list[tuple[Article, str]] = field(default_factory=list)
    updated: set[str] = field(default_factory=set)
    chunks: list[ChunkRecord] = field(default_factory=list)
    skipped: int = 0


class IngestPipeline(_Stages):
    """The read phase of one ingest into one store: ``run`` writes the articles, their chunks
    pending, and returns the report. ``VectorFill`` embeds the chunks next."""

    def __init__(self, store: ChromaStore, encoder: Encoder, settings: Settings) -> None:
        super().__init__()
        self.store = store
        self.settings = settings
        self.chunker = Chunker(encoder.tokenizer, settings.chunk_tokens, settings.overlap_tokens)
        self.report = IngestReport()
        self._progress: Progress | None = None

    def run(self, records: Iterable[Article | IngestError | PassedOver], progress: Progress | None = None) -> IngestReport:
        self._progress = progress
        started = time.perf_counter()
        finished = self._stages(lambda out: self._prepare(records, out), lambda batch: None, self._write)
        # Interrupted only if something was left unread: a Ctrl-C after the last batch stops nothing.
        self.report.interrupted = self._interrupted.is_set() and not finished
        self.report.read_seconds = round(time.perf_counter() - started, 3)
        return self.report

    def _prepare(self, records: Iterable[Article | IngestError | PassedOver], out: queue.Queue[object]) -> None:
        seen: dict[str, str] = {}  # id -> content hash, for repeats of an id within this run
        group: dict[str, Article] = {}
        self._batch = Batch()
        self._out = out
        in_flight: collections.deque[tuple[list[tuple[Article, str, bool]], int, Future[Chunked] | None]] = collections.deque()
        read = 0
        s = self.settings
        with ChunkWorkers(str(s.resolved_model_dir()), s.chunk_tokens, s.overlap_tokens) as workers:

            def flush() -> None:
                selected, skipped = self._select(group, seen)
                articles = [article for article, _, _ in selected]
                parallel = read > PARALLEL_AFTER and articles
                in_flight.append((selected, skipped, workers.submit(_texts(articles)) if parallel else None))
                while in_flight and (len(in_flight) > IN_FLIGHT or in_flight[0][2] is None):
                    self._assemble(*in_flight.popleft())

            for record in records:
                if self._stop.is_set():
                    break
                if isinstance(record, IngestError):
                    self.report.errors.append(record)
                    continue
                if isinstance(record, PassedOver):
                    self.report.passed_over[record.reason] = self.report.passed_over.get(record.reason, 0) + 1
                    continue
                read += 1
                if record.id in group:
                    flush()
                group[record.id] = record
                if len(group) >= GROUP:
                    flush()
            if not self._stop.is_set():
                flush()
                while in_flight:
                    self._assemble(*in_flight.popleft())
                if self._batch.articles or self._batch.skipped:
                    out.put(self._batch)
        out.put(_DONE)

    def _select(self, group: dict[str, Article], seen: dict[str, str]) -> tuple[list[tuple[Article, str, bool]], int]:
        """The articles of ``group`` that are new or changed (with their content hash and whether
        they replace a committed version), and how many are unchanged."""
        committed = self.store.committed_hashes([aid for aid in group if aid not in seen])
        selected: list[tuple[Article, str, bool]] = []
        skipped = 0
        for article in group.values():
            content_hash = article.content_hash()
            previous = seen.get(article.id, committed.get(article.id))
            seen[article.id] = content_hash
            if previous == content_hash:
                skipped += 1
            else:
                selected.append((article, content_hash, previous is not None))
        group.clear()
        return selected, skipped

    def _assemble(self, selected: list[tuple[Article, str, bool]], skipped: int, chunked: Future[Chunked] | None) -> None:
        """Add chunked articles to the batch in hand, handing each full batch to the writer."""
        pieces: Chunked | None = None
        if chunked is not None:
            try:
                pieces = chunked.result()
            except RuntimeError as exc:  # a worker ended: this group is done here
                logging.getLogger(__name__).warning("%s; chunking in this process", exc)
        if pieces is None:
            pieces = chunk_texts(_texts([a for a, _, _ in selected]), self.chunker)
        self._batch.skipped += skipped
        for (article, content_hash, updated), chunks in zip(selected, pieces, strict=True):
            if any(a.id == article.id for a, _ in self._batch.articles):
                self._hand_over()  # one version of an article per batch: chunk ids must not collide
            if updated:
                self._batch.updated.add(article.id)
            self._batch.articles.append((article, content_hash))
            self._batch.chunks.extend(_records(article, chunks))
            if len(self._batch.chunks) >= self.settings.batch_chunks:
                self._hand_over()

    def _hand_over(self) -> None:
        self._out.put(self._batch)
        self._batch = Batch()

    def _write(self, batch: Batch) -> None:
        if batch.articles:
            self.store.write(batch.articles, batch.chunks)  # pending: the fill gives them vectors
        report = self.report
        report.chunks += len(batch.chunks)
        report.articles_updated += len(batch.updated)
        report.articles_added += len(batch.articles) - len(batch.updated)
        report.articles_skipped += batch.skipped
        if self._progress:
            self._progress("read", len(batch.articles) + batch.skipped, None)


#: Articles chunked and dated per task, in the calling process or a worker.
GROUP = 64
#: A run that reads more articles than this chunks and dates the rest in worker processes, one
#: per core (``qa.chunk_worker``; starting them costs a second or two).
PARALLEL_AFTER = 256
#: Groups handed to the workers ahead of the one being written.
IN_FLIGHT = 4


def _texts(articles: list[Article]) -> Texts:
    return [(a.text, a.published_day) for a in articles]


def _records(article: Article, chunked: list[Any]) -> list[ChunkRecord]:
    chunks, events = chunked
    dates = [EventDate(start=s, end=e, date=day, precision=precision, text=written) for s, e, day, precision, written in events]
    return [
        ChunkRecord(article, index, start, end, article.text[start:end], [d for d in dates if start <= d.start and d.end <= end])
        for index, start, end in chunks
    ]


@dataclass
class FillBatch:
    """Pending chunks to embed: id, text and metadata; vectors known from the store by text hash."""

    chunks: list[tuple[str, str, dict[str, Any]]]
    known: dict[str, np.ndarray]
    vectors: np.ndarray | None = None
    sentences: list[tuple[str, SentenceVectors]] = field(default_factory=list)
    encoded: int = 0


@dataclass
class FillReport:
    """What one fill did: chunks given vectors, how many texts the encoder read for them, and how
    many chunks are still pending (after an interruption)."""

    embedded: int = 0
    encoded: int = 0
    pending: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    #: Event sentences encoded on their own after the chunks (``qa.event_vectors``), those left
    #: (after an interruption), and the seconds that took.
    sentences: int = 0
    sentences_pending: int = 0
    sentence_seconds: float = 0.0

    def add_sentences(self, own: SentenceFillReport) -> None:
        """Take in what the event sentences' fill that followed did."""
        self.sentences, self.sentences_pending, self.sentence_seconds = own.encoded, own.pending, own.seconds


class VectorFill(_Stages):
    """The embed phase: every pending chunk of the store gets its vector, the distinct texts
    encoded once. Runs to the end or to Ctrl-C; a later run continues with what is left."""

    def __init__(self, store: ChromaStore, encoder: Encoder, settings: Settings) -> None:
        super().__init__()
        self.store = store
        self.encoder = encoder
        self.settings = settings
        self.report = FillReport()
        self._recent: dict[str, np.ndarray] = {}
        self._progress: Progress | None = None
        self._total = 0

    def run(self, progress: Progress | None = None) -> FillReport:
        started = time.perf_counter()
        ids = self.store.pending_ids()
        self._progress, self._total = progress, len(ids)
        if ids:
            finished = self._stages(lambda out: self._read(ids, out), self._encode, self._write)
            self.store.finish_fill()
            self.report.interrupted = self._interrupted.is_set() and not finished
            if finished and self.store.pending_count():
                self.store.drop_stale_pending(self.store.pending_ids())
        self.report.pending = self.store.pending_count()
        self.report.seconds = round(time.perf_counter() - started, 3)
        return self.report

    def _read(self, ids: list[str], out: queue.Queue[object]) -> None:
        size = self.settings.batch_chunks
        for first in range(0, len(ids), size):
            if self._stop.is_set():
                break
            chunks = self.store.get_pending(ids[first : first + size])
            hashes = list(dict.fromkeys(meta["text_hash"] for _, _, meta in chunks))
            known = self.store.vectors_for_text(hashes)
            # A text stored before sentence vectors existed is encoded again, once, to get them.
            with_sentences = self.store.sentences.has([h for h in hashes if h in known])
            out.put(FillBatch(chunks, {h: v for h, v in known.items() if h in with_sentences}))
        out.put(_DONE)

    def _encode(self, batch: FillBatch) -> None:
        if not batch.chunks:
            return
        texts = {meta["text_hash"]: text for _, text, meta in batch.chunks}
        todo = [h for h in texts if h not in batch.known and h not in self._recent]
        vectors, sentences = self.encoder.encode_passages([texts[h] for h in todo])
        rows = {**batch.known, **self._recent, **dict(zip(todo, vectors, strict=True))}
        if len(self._recent) > RECENT_VECTORS:
            self._recent.clear()
        self._recent.update(zip(todo, vectors, strict=True))
        batch.vectors = np.stack([rows[meta["text_hash"]] for _, _, meta in batch.chunks]).astype(np.float32)
        batch.sentences = list(zip(todo, sentences, strict=True))
        batch.encoded = len(todo)

    def _write(self, batch: FillBatch) -> None:
        if batch.chunks:
            assert batch.vectors is not None
            self.store.sentences.put(batch.sentences)  # before the chunks: a crash leaves only unused rows
            self.store.fill(batch.chunks, batch.vectors)
        self.report.embedded += len(batch.chunks)
        self.report.encoded += batch.encoded
        if self._progress:
            self._progress("embed", len(batch.chunks), self._total)


@contextlib.contextmanager
def on_ctrl_c(handler: Callable[[], None]) -> Iterator[None]:
    """Ctrl-C calls ``handler`` (which may raise ``KeyboardInterrupt`` itself) while in the block.

    A handler, not the KeyboardInterrupt Python raises: that one can land inside a ``__del__`` run
    by the garbage collector, where Python prints and ignores it, and the work would go on to the
    end. Only the main thread may install one; elsewhere (a server's worker) nothing is installed
    and the caller stops the work its own way (``IngestPipeline.interrupt``)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: handler())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _find_malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc
        return None


_MALLOC_TRIM = _find_malloc_trim()


def _release_free_memory() -> None:
    """Hand the C heap's free pages back to the system after each batch. glibc keeps the large
    buffers of a forward pass once they are freed, and resident memory would creep up by
    about 150 MB over a long ingest (bench/ingest.py --pipeline-only)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _drain(q: queue.Queue[object]) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return
