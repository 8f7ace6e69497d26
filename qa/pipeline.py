"""The ingest pipeline: read and chunk, encode, write, as three overlapping stages.

On two cores the encoder is the wall, so everything else runs beside it: one thread reads
articles, skips unchanged ones, chunks them and resolves their dates; the calling thread
encodes; one thread writes finished batches to Chroma. Chunks whose text was already embedded
(syndicated copies, boilerplate) reuse the stored vector instead of being encoded again. The same
forward pass gives each sentence of a chunk its vector (``qa.sentence_vectors``), for answering.

Each batch is written whole (chunks first, then the article records that commit them), so
stopping at any moment leaves only complete articles visible.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime as dt
import queue
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from qa.chunk import Chunker
from qa.dates import extract_event_dates
from qa.embed import Encoder
from qa.index import ChromaStore, ChunkRecord
from qa.models import Article, IngestError, IngestReport, PassedOver
from qa.sentence_vectors import SentenceVectors
from qa.settings import Settings

Progress = Callable[[int], None]
_DONE = object()


@dataclass
class Batch:
    """Articles to (re)write with all their chunks, and how many unchanged ones were passed by."""

    articles: list[tuple[Article, str]] = field(default_factory=list)
    updated: set[str] = field(default_factory=set)
    chunks: list[ChunkRecord] = field(default_factory=list)
    skipped: int = 0
    vectors: np.ndarray | None = None
    sentences: list[tuple[str, SentenceVectors]] = field(default_factory=list)


class IngestPipeline:
    """Runs one ingest into one store; ``run`` returns the report."""

    def __init__(self, store: ChromaStore, encoder: Encoder, settings: Settings) -> None:
        self.store = store
        self.encoder = encoder
        self.settings = settings
        self.chunker = Chunker(encoder.tokenizer, settings.chunk_tokens, settings.overlap_tokens)
        self.report = IngestReport()
        self._stop = threading.Event()
        self._interrupted = threading.Event()
        self._failure: BaseException | None = None

    def run(self, records: Iterable[Article | IngestError | PassedOver], progress: Progress | None = None) -> IngestReport:
        prepared: queue.Queue[object] = queue.Queue(maxsize=2)
        encoded: queue.Queue[object] = queue.Queue(maxsize=2)
        preparer = threading.Thread(target=self._guard, args=(self._prepare, records, prepared), name="dateline-prepare", daemon=True)
        writer = threading.Thread(target=self._guard, args=(self._write, encoded, progress), name="dateline-write", daemon=True)
        preparer.start()
        writer.start()
        finished = False
        with on_ctrl_c(self._on_ctrl_c):
            try:
                while not self._interrupted.is_set():
                    if (item := prepared.get()) is _DONE:
                        finished = True
                        break
                    assert isinstance(item, Batch)
                    self._encode(item)
                    encoded.put(item)  # encoded whole, so written whole even if Ctrl-C came meanwhile
                    _release_free_memory()
            except KeyboardInterrupt:  # a second Ctrl-C, or one while the handler could not be installed
                self._interrupted.set()
            finally:
                encoded.put(_DONE)
                writer.join()  # batches already encoded are written whole, even after Ctrl-C
                self._stop.set()
                _drain(prepared)
        # Interrupted only if something was left unread: a Ctrl-C after the last batch stops nothing.
        self.report.interrupted = self._interrupted.is_set() and not finished
        if self._failure is not None:
            raise self._failure
        return self.report

    def _on_ctrl_c(self) -> None:
        """The first Ctrl-C sets a flag the encoding loop checks between and after batches; the
        second interrupts at once."""
        if self._interrupted.is_set():
            raise KeyboardInterrupt
        self.interrupt()

    def interrupt(self) -> None:
        """Stop after the batch being written; everything written stays whole. Safe from any thread."""
        self._interrupted.set()
        self._stop.set()

    def _guard(self, stage: Callable[..., None], *args: object) -> None:
        try:
            stage(*args)
        except BaseException as exc:  # re-raised in the calling thread by run()
            self._failure = exc
            self._stop.set()
            if stage == self._prepare:
                args[-1].put(_DONE)  # type: ignore[attr-defined]

    # ---- stage 1: read, skip unchanged, chunk, date ------------------------------------------

    def _prepare(self, records: Iterable[Article | IngestError | PassedOver], out: queue.Queue[object]) -> None:
        seen: dict[str, str] = {}  # id -> content hash, for repeats of an id within this run
        group: dict[str, Article] = {}
        batch = Batch()
        for record in records:
            if self._stop.is_set():
                break
            if isinstance(record, IngestError):
                self.report.errors.append(record)
                continue
            if isinstance(record, PassedOver):
                self.report.passed_over[record.reason] = self.report.passed_over.get(record.reason, 0) + 1
                continue
            if record.id in group:
                batch = self._add_group(group, seen, batch, out)
            group[record.id] = record
            if len(group) >= 64:
                batch = self._add_group(group, seen, batch, out)
        if not self._stop.is_set():
            batch = self._add_group(group, seen, batch, out)
            if batch.articles or batch.skipped:
                out.put(batch)
        out.put(_DONE)

    def _add_group(self, group: dict[str, Article], seen: dict[str, str], batch: Batch, out: queue.Queue[object]) -> Batch:
        committed = self.store.committed_hashes([aid for aid in group if aid not in seen])
        for article in group.values():
            content_hash = article.content_hash()
            previous = seen.get(article.id, committed.get(article.id))
            seen[article.id] = content_hash
            if previous == content_hash:
                batch.skipped += 1
                continue
            if any(a.id == article.id for a, _ in batch.articles):
                out.put(batch)  # one version of an article per batch: chunk ids must not collide
                batch = Batch()
            if previous is not None:
                batch.updated.add(article.id)
            batch.articles.append((article, content_hash))
            batch.chunks.extend(self._chunk(article))
            if len(batch.chunks) >= self.settings.batch_chunks:
                out.put(batch)
                batch = Batch()
        group.clear()
        return batch

    def _chunk(self, article: Article) -> list[ChunkRecord]:
        published = dt.date.fromisoformat(article.published_day) if article.published_day else None
        events = extract_event_dates(article.text, published)
        return [
            ChunkRecord(article, c.index, c.start, c.end, c.text, [e for e in events if c.start <= e.start and e.end <= c.end])
            for c in self.chunker.chunk(article.text)
        ]

    # ---- stage 2: encode each distinct text once -------------------------------------------

    def _encode(self, batch: Batch) -> None:
        if not batch.chunks:
            return
        by_hash: dict[str, int] = {}
        for chunk in batch.chunks:
            by_hash.setdefault(chunk.text_hash, len(by_hash))
        known = self.store.vectors_for_text(list(by_hash))
        with_sentences = self.store.sentences.has([h for h in by_hash if h in known])
        # A text stored before sentence vectors existed is encoded again, once, to get them.
        todo = [h for h in by_hash if h not in known or h not in with_sentences]
        texts = {c.text_hash: c.text for c in batch.chunks}
        vectors, sentences = self.encoder.encode_passages([texts[h] for h in todo])
        rows = {**known, **dict(zip(todo, vectors, strict=True))}
        batch.vectors = np.stack([rows[c.text_hash] for c in batch.chunks]).astype(np.float32)
        batch.sentences = list(zip(todo, sentences, strict=True))

    # ---- stage 3: write whole batches ------------------------------------------------------

    def _write(self, encoded: queue.Queue[object], progress: Progress | None) -> None:
        while (item := encoded.get()) is not _DONE:
            assert isinstance(item, Batch)
            if self._failure is not None:
                continue
            if item.articles:
                assert item.vectors is not None
                self.store.sentences.put(item.sentences)  # before the chunks: a crash leaves only unused rows
                self.store.write(item.articles, item.chunks, item.vectors)
            report = self.report
            report.chunks += len(item.chunks)
            report.articles_updated += len(item.updated)
            report.articles_added += len(item.articles) - len(item.updated)
            report.articles_skipped += item.skipped
            if progress:
                progress(len(item.articles) + item.skipped)


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
