"""Sentence vectors pooled from the chunk's own forward pass, kept beside the index.

Answering scores every sentence of the retrieved passages against the question. Encoding those
sentences at question time costs hundreds of milliseconds on two cores; instead, when a chunk is
embedded at ingest, its token embeddings (computed anyway) are averaged over each sentence's word
pieces. The result is a vector per sentence that has read its whole chunk (its neighbours
included), for the price of a mean.

They are kept in ``sentences.sqlite3`` beside Chroma's files, keyed by the chunk text's hash, so
syndicated copies share them and an article re-ingested unchanged keeps them. The file is a cache
of derived data: a chunk whose sentences are missing (an index made before this file existed, or
a Chroma server filled from another machine) gets them computed from its text when first needed,
the same way, and stored. Rows are written before the chunks they belong to, so a crash leaves at
worst unused rows.

The same file keeps the event sentences encoded on their own (``qa.event_vectors``), keyed by the
sentence text's hash.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.chunk import split_sentences

FILENAME = "sentences.sqlite3"


@dataclass(frozen=True)
class SentenceVectors:
    """The sentences of one chunk text: offsets inside the text and one unit vector per sentence."""

    starts: np.ndarray  # int32, relative to the chunk text
    ends: np.ndarray
    vectors: np.ndarray  # float32, (sentences, dimensions)

    def lookup(self, start: int) -> np.ndarray | None:
        """The vector of the sentence starting at ``start`` (relative to the chunk), if there is one."""
        hits = np.flatnonzero(self.starts == start)
        return self.vectors[int(hits[0])] if len(hits) else None


def pool_sentences(text: str, token_vectors: np.ndarray, offsets: Sequence[tuple[int, int]]) -> SentenceVectors:
    """Average ``token_vectors`` (one row per word piece of ``text``, special tokens included, as
    ``offsets`` from the fast tokenizer say) over each sentence of ``text``; unit length."""
    spans = split_sentences(text)
    token_starts = np.asarray([s if e > s else -1 for s, e in offsets], dtype=np.int64)
    vectors = np.zeros((len(spans), token_vectors.shape[1]), dtype=np.float32)
    for row, (start, end) in enumerate(spans):
        inside = (token_starts >= start) & (token_starts < end)
        pooled = token_vectors[inside].mean(axis=0) if inside.any() else token_vectors.mean(axis=0)
        vectors[row] = pooled / (np.linalg.norm(pooled) or 1.0)
    starts = np.asarray([s for s, _ in spans], dtype=np.int32)
    ends = np.asarray([e for _, e in spans], dtype=np.int32)
    return SentenceVectors(starts, ends, vectors)


def _quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 with one scale per row: a quarter of float32, cosine error about 1e-3."""
    if not len(vectors):
        return np.zeros(0, np.float32), np.zeros(0, np.int8)
    scales = np.maximum(np.abs(vectors).max(axis=1), 1e-12).astype(np.float32)
    return scales, np.round(vectors / scales[:, None] * 127).astype(np.int8)


def _dequantize(scales: np.ndarray, quantized: bytes) -> np.ndarray:
    """Unit-length float32 rows back from ``_quantize``."""
    raw = np.frombuffer(quantized, dtype=np.int8).astype(np.float32)
    if not len(scales):
        return raw.reshape(0, 0)
    vectors = raw.reshape(len(scales), -1) * (scales[:, None] / 127)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors.astype(np.float32)


def _pack(item: SentenceVectors) -> tuple[bytes, bytes, bytes, bytes]:
    scales, quantized = _quantize(item.vectors)
    return item.starts.astype(np.int32).tobytes(), item.ends.astype(np.int32).tobytes(), scales.tobytes(), quantized.tobytes()


def _unpack(starts: bytes, ends: bytes, scales: bytes, quantized: bytes) -> SentenceVectors:
    vectors = _dequantize(np.frombuffer(scales, dtype=np.float32), quantized)
    return SentenceVectors(np.frombuffer(starts, dtype=np.int32), np.frombuffer(ends, dtype=np.int32), vectors)


class SentenceVectorStore:
    """``sentences.sqlite3``: chunk text hash -> its sentences' offsets and vectors. Thread-safe."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / FILENAME
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS sentence_vectors (text_hash TEXT PRIMARY KEY, starts BLOB, ends BLOB, scales BLOB, vectors BLOB)"
        )
        # How many times this process or another changed the chunks: saved indexes derived from
        # the store (the lexical index) are valid only for the generation they were built at.
        self._db.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER)")
        self._db.execute("CREATE TABLE IF NOT EXISTS own_vectors (sentence_hash TEXT PRIMARY KEY, scale REAL, vector BLOB)")

    def generation(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def next_generation(self) -> None:
        with self._lock:
            self._db.execute("INSERT INTO state VALUES ('generation', 1) ON CONFLICT(key) DO UPDATE SET value = value + 1")

    def put(self, items: Iterable[tuple[str, SentenceVectors]]) -> None:
        rows = [(text_hash, *_pack(item)) for text_hash, item in items]
        self._insert("INSERT OR IGNORE INTO sentence_vectors VALUES (?, ?, ?, ?, ?)", rows)

    def _insert(self, statement: str, rows: list[tuple[object, ...]]) -> None:
        """``rows`` in one transaction."""
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(statement, rows)
            self._db.execute("COMMIT")

    def get(self, text_hashes: Sequence[str]) -> dict[str, SentenceVectors]:
        return {row[0]: _unpack(*row[1:]) for row in self._select("text_hash, starts, ends, scales, vectors", text_hashes)}

    def has(self, text_hashes: Sequence[str]) -> set[str]:
        return {row[0] for row in self._select("text_hash", text_hashes)}

    def _select(
        self, columns: str, text_hashes: Sequence[str], table: str = "sentence_vectors", key: str = "text_hash"
    ) -> list[tuple[object, ...]]:
        hashes = list(dict.fromkeys(text_hashes))
        rows: list[tuple[object, ...]] = []
        with self._lock:
            for i in range(0, len(hashes), 500):  # SQLite caps the number of bound parameters
                part = hashes[i : i + 500]
                marks = ",".join("?" * len(part))
                rows += self._db.execute(f"SELECT {columns} FROM {table} WHERE {key} IN ({marks})", part).fetchall()
        return rows

    def put_own(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """Store sentences' own vectors (unit length) by their text hash, in one transaction."""
        rows: list[tuple[object, ...]] = []
        for sentence_hash, vector in items:
            scales, quantized = _quantize(vector[None, :])
            rows.append((sentence_hash, float(scales[0]), quantized.tobytes()))
        self._insert("INSERT OR IGNORE INTO own_vectors VALUES (?, ?, ?)", rows)

    def get_own(self, sentence_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored own vectors among ``sentence_hashes`` (unit length, float32)."""
        rows = self._select("sentence_hash, scale, vector", sentence_hashes, "own_vectors", "sentence_hash")
        return {str(h): _dequantize(np.asarray([scale], dtype=np.float32), raw)[0] for h, scale, raw in rows}

    def has_own(self, sentence_hashes: Sequence[str]) -> set[str]:
        return {str(row[0]) for row in self._select("sentence_hash", sentence_hashes, "own_vectors", "sentence_hash")}

    def count_own(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM own_vectors").fetchone()[0])

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM sentence_vectors").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
