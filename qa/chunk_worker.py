"""Chunking and dating in worker processes, for the read phase of a large ingest (``qa.pipeline``).

Chunking (the tokenizer) and resolving dates are Python work that holds the GIL: in one process
they were most of the read phase. So a large ingest hands groups of articles to worker
processes, one per core, and writes what comes back. A worker is a fresh interpreter running
``python -m qa.chunk_worker`` that reads pickled groups on its stdin and writes pickled results
on its stdout, in order. Not ``multiprocessing``: its ``spawn`` runs the caller's main script
again in every worker, and a script without an ``if __name__ == "__main__"`` guard would ingest
in each of them. A worker that fails leaves its groups to be done in the calling process.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import os
import pickle
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future
from typing import Any

from qa.chunk import Chunker
from qa.dates import extract_event_dates

#: One group's input: each article's text and publication day (ISO) or None.
Texts = list[tuple[str, str | None]]
#: One group's output: per article, its chunks ``(index, start, end)`` and its dates
#: ``(start, end, day, precision, written)``, as plain tuples (cheap to pickle).
Chunked = list[list[Any]]


def chunk_texts(texts: Texts, chunker: Chunker) -> Chunked:
    """The chunks and dates of each text, as the workers compute them."""
    results: Chunked = []
    for text, published_day in texts:
        published = dt.date.fromisoformat(published_day) if published_day else None
        events = [(e.start, e.end, e.date, e.precision, e.text) for e in extract_event_dates(text, published)]
        results.append([[(c.index, c.start, c.end) for c in chunker.chunk(text)], events])
    return results


class ChunkWorkers:
    """Worker processes, started on first use (``submit``) and stopped by ``close``."""

    def __init__(self, model_dir: str, chunk_tokens: int, overlap_tokens: int, workers: int | None = None) -> None:
        self.command = [sys.executable, "-m", "qa.chunk_worker", model_dir, str(chunk_tokens), str(overlap_tokens)]
        self.count = workers or max(1, min(os.cpu_count() or 1, 4))
        self._processes: list[subprocess.Popen[bytes]] = []
        self._waiting: list[collections.deque[Future[Chunked]]] = []
        self._next = 0
        self._lock = threading.Lock()

    def submit(self, texts: Texts) -> Future[Chunked]:
        """Hand one group to the next worker; its future fails if the worker does."""
        if not self._processes:
            self._start()
        future: Future[Chunked] = Future()
        worker = self._next % self.count
        self._next += 1
        process = self._processes[worker]
        with self._lock:
            self._waiting[worker].append(future)
        try:
            assert process.stdin is not None
            pickle.dump(texts, process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            process.stdin.flush()
        except (OSError, ValueError) as exc:  # the worker is gone; its reader fails what it was given
            self._fail(worker, exc)
        return future

    def _start(self) -> None:
        for worker in range(self.count):
            process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
            self._processes.append(process)
            self._waiting.append(collections.deque())
            threading.Thread(target=self._read, args=(worker,), name=f"dateline-chunk-{worker}", daemon=True).start()

    def _read(self, worker: int) -> None:
        stdout = self._processes[worker].stdout
        assert stdout is not None
        while True:
            try:
                result = pickle.load(stdout)
            except Exception as exc:  # EOF or a broken stream: the worker ended
                self._fail(worker, exc)
                return
            with self._lock:
                future = self._waiting[worker].popleft()
            future.set_result(result)

    def _fail(self, worker: int, exc: BaseException) -> None:
        with self._lock:
            waiting, self._waiting[worker] = list(self._waiting[worker]), collections.deque()
        for future in waiting:
            if not future.done():
                future.set_exception(RuntimeError(f"chunking worker {worker} ended: {exc!r}"))

    def close(self) -> None:
        for process in self._processes:
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()  # a worker ends at the end of its input
        for process in self._processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> ChunkWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main() -> None:
    """A worker: groups in on stdin, results out on stdout, until stdin ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle (new session besides)
    results = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, not into the results
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers import AutoTokenizer

    model_dir, chunk_tokens, overlap_tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    chunker = Chunker(AutoTokenizer.from_pretrained(model_dir), chunk_tokens, overlap_tokens)
    requests = sys.stdin.buffer
    while True:
        try:
            texts = pickle.load(requests)
        except EOFError:
            return
        pickle.dump(chunk_texts(texts, chunker), results, protocol=pickle.HIGHEST_PROTOCOL)
        results.flush()


if __name__ == "__main__":
    main()
