"""The Chroma store: passages with our embeddings, and one record per article that commits it.

Three collections. ``dateline_passages`` holds every chunk whose embedding is computed, with its
metadata. ``dateline_pending`` holds the chunks written before their embedding (ingest is
lexical first, see ``qa.pipeline``): text and metadata, searchable by words, moved to
``dateline_passages`` by the vector fill. A pending chunk stores no text and little metadata: its
text is its article's between its offsets, and its article's fields are on the article record
(Chroma indexes every document's trigrams and every metadata field: that was most of the cost of
a write). ``dateline_articles`` holds one record per article
(its full text, metadata and content hash). An article's record is written only after all of its
chunks are, and search keeps a chunk only when its article record carries the same content hash:
a crash between the two leaves chunks that nobody sees, and the next ingest of that article
replaces them. The fill adds a chunk to the passages before removing it from the pending ones,
so a crash between the two leaves it in both, and readers take the embedded copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from chromadb.errors import InternalError

from qa.errors import DatelineError, IndexNotFoundError
from qa.models import Article, EventDate
from qa.sentence_vectors import SentenceVectorStore

PASSAGES = "dateline_passages"
PENDING = "dateline_pending"
ARTICLES = "dateline_articles"
#: A record in a collection searched by id only (articles, pending chunks) still needs a vector.
_NO_VECTOR = [0.0]
_EPOCH = dt.date(1970, 1, 1)


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01: what range filters compare."""
    return (day - _EPOCH).days


@dataclass
class ChunkRecord:
    """A chunk ready to write: where it is in its article and the dates it states."""

    article: Article
    index: int
    start: int
    end: int
    text: str
    events: list[EventDate]

    @property
    def text_hash(self) -> str:
        return text_hash(self.text)

    @property
    def chunk_id(self) -> str:
        return f"{self.article.id}#{self.index}"

    def metadata(self, content_hash: str) -> dict[str, Any]:
        meta = _article_metadata(self.article, content_hash)
        meta.update(start=self.start, end=self.end, chunk=self.index, text_hash=self.text_hash)
        if self.events:
            days = sorted({day_number(e.date) for e in self.events})
            meta.update(event_days=days, event_min=days[0], event_max=days[-1])
            meta["events"] = json.dumps([[e.start, e.end, e.date.isoformat(), e.precision] for e in self.events])
        return meta


class DerivedFolder:
    """Where one index derived from the store (the lexical index, the event index) is saved, under
    the index folder. Files go to a new sub-folder and a pointer file naming it is replaced
    atomically after them, so a reader sees the old version or the new one, never half of one."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def new(self, generation: int) -> Path:
        """A fresh sub-folder to write a version into."""
        target = self.root / f"g{generation}-{os.getpid()}-{time.time_ns()}"
        target.mkdir(parents=True)
        return target

    def publish(self, target: Path, version: dict[str, Any]) -> None:
        """Make ``target`` the current version (``version`` says what it was built for); drop the others."""
        pointer = self.root / f"current.json.{target.name}"
        pointer.write_text(json.dumps({"folder": target.name, **version}))
        os.replace(pointer, self.root / "current.json")
        for old in self.root.iterdir():
            if old.is_dir() and old.name != target.name:
                shutil.rmtree(old, ignore_errors=True)

    def current(self, version: dict[str, Any]) -> Path | None:
        """The saved sub-folder built for exactly ``version``, or None (absent, stale, or being replaced)."""
        try:
            pointer = json.loads((self.root / "current.json").read_text())
        except (OSError, ValueError):
            return None
        if any(pointer.get(key) != value for key, value in version.items()):
            return None
        return self.root / str(pointer["folder"])


def top_positions(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` highest scores, highest first. Our own selection, not bm25s's: its
    ``np.argpartition(scores, -k)`` took 190 ms on a million scores with few distinct values
    (common words, repeated texts), where this takes 7 ms."""
    if n >= len(scores):
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, n - 1)[:n]
    return part[np.argsort(-scores[part], kind="stable")]


def text_hash(text: str) -> str:
    """Identifies the text the model reads: equal texts share one embedding and one set of sentence vectors."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


#: The fields a chunk's metadata takes from its article (``_article_metadata``).
_ARTICLE_KEYS = ("article_id", "url", "title", "source", "hash", "published", "published_day")


def _pending_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """What a pending chunk stores: its article and content hash (to delete and commit it by), its
    own fields as one JSON string; the rest is read from the article record when needed."""
    own = {key: value for key, value in meta.items() if key not in _ARTICLE_KEYS}
    return {"article_id": meta["article_id"], "hash": meta["hash"], "chunk": json.dumps(own)}


def _article_metadata(article: Article, content_hash: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "article_id": article.id,
        "url": article.url,
        "title": article.title,
        "source": article.source,
        "hash": content_hash,
    }
    if article.published_day:
        meta["published"] = article.published_day
        meta["published_day"] = day_number(dt.date.fromisoformat(article.published_day))
    return meta


def _vector_index_unreadable(client: Any, path: Path) -> bool:
    """Whether Chroma cannot open a vector segment of this folder (seen after a kill mid-write)."""
    if not any(p.is_dir() for p in path.iterdir()):
        return False
    for collection in client.list_collections():
        collection = client.get_collection(collection if isinstance(collection, str) else collection.name, embedding_function=None)
        if collection.count() == 0:
            continue
        try:
            collection.get(limit=1, include=["embeddings"])
        except InternalError as exc:
            if "hnsw segment reader" in str(exc):
                return True
            raise
    return False


def _drop_unpersisted_segments(path: Path) -> bool:
    """Remove vector-segment folders whose index was never completely persisted (no index_metadata.pickle).

    Everything in such a folder is also in Chroma's write-ahead log in chroma.sqlite3, from which
    Chroma rebuilds the segment when the folder is gone.
    """
    dropped = False
    for folder in path.iterdir():
        if folder.is_dir() and (folder / "header.bin").exists() and not (folder / "index_metadata.pickle").exists():
            shutil.rmtree(folder)
            dropped = True
    return dropped


class ChromaStore:
    """Chroma on disk (``PersistentClient``) or a ``chroma run`` server (``HttpClient``)."""

    def __init__(self, path: Path, chroma_url: str = "", create: bool = True) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if chroma_url:
            parsed = urlparse(chroma_url)
            try:
                self.client = chromadb.HttpClient(
                    host=parsed.hostname or "127.0.0.1", port=parsed.port or 8000, ssl=parsed.scheme == "https", settings=chroma_settings
                )
                self.client.heartbeat()
            except Exception as exc:  # chromadb raises several unrelated types for an unreachable server
                raise DatelineError(f"cannot reach the Chroma server at {chroma_url}: {exc}") from None
            # One server holds many archives: the index name picks this one's pair of collections.
            prefix = re.sub(r"[^A-Za-z0-9._-]", "-", path.name or "default")
            passages, pending, articles = f"{prefix}.{PASSAGES}", f"{prefix}.{PENDING}", f"{prefix}.{ARTICLES}"
            self.location = f"{chroma_url} (collections {passages}, {pending}, {articles})"
        else:
            if not create and not (path / "chroma.sqlite3").exists():
                raise IndexNotFoundError(f"no index at {path}: run `dateline ingest PATH --index {path}` first")
            path.mkdir(parents=True, exist_ok=True)
            self.client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
            self.location = str(path)
            passages, pending, articles = PASSAGES, PENDING, ARTICLES
            if _vector_index_unreadable(self.client, path) and _drop_unpersisted_segments(path):
                # Chroma rebuilds a vector segment it finds no files for from its own write-ahead log.
                from chromadb.api.client import SharedSystemClient

                SharedSystemClient.clear_system_cache()
                self.client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        names = {c if isinstance(c, str) else c.name for c in self.client.list_collections()}
        if not create and passages not in names:
            raise IndexNotFoundError(f"no Dateline index at {self.location}: run `dateline ingest` first")
        # embedding_function=None: we always pass our own vectors, Chroma never loads a model.
        self.passages = self.client.get_or_create_collection(passages, embedding_function=None, metadata={"hnsw:space": "cosine"})
        self.articles = self.client.get_or_create_collection(articles, embedding_function=None)
        #: Chunks whose embeddings are not computed yet; their collection's metadata names the
        #: encoder the index is built with (``encoder``).
        self.pending = self.client.get_or_create_collection(pending, embedding_function=None)
        self.max_batch = int(self.client.get_max_batch_size())
        # Beside Chroma's files (in server mode, in the local folder of that name): see qa.sentence_vectors.
        self.sentences = SentenceVectorStore(path)
        #: Where indexes derived from the store may be saved; None in server mode, where other
        #: machines write to the same collections without this folder knowing.
        self.derived_folder: Path | None = None if chroma_url else path
        #: Other processes may write to these collections while this one reads them (a server). An
        #: embedded index shows each process what it held when opened plus its own writes: Chroma
        #: keeps the vector index in the memory of the process that opened it.
        self.remote = bool(chroma_url)

    # ---- writing -------------------------------------------------------------------------

    def committed_hashes(self, article_ids: Sequence[str]) -> dict[str, str]:
        """Content hash of each article already committed, by id."""
        found: dict[str, str] = {}
        ids = list(dict.fromkeys(article_ids))
        for i in range(0, len(ids), self.max_batch):
            got = self.articles.get(ids=ids[i : i + self.max_batch], include=["metadatas"])
            for aid, meta in zip(got["ids"], got["metadatas"] or [], strict=False):
                found[aid] = str((meta or {}).get("hash", ""))
        return found

    def write(self, articles: Sequence[tuple[Article, str]], chunks: Sequence[ChunkRecord]) -> None:
        """Replace these articles' chunks, written pending (searchable by words until the fill embeds
        them, see ``fill``), then commit each article record (the order is the point)."""
        self.sentences.next_generation()  # before and after: a reader saving mid-write saves a stale generation
        try:
            self._write(articles, chunks)
        finally:
            self.sentences.next_generation()

    def _write(self, articles: Sequence[tuple[Article, str]], chunks: Sequence[ChunkRecord]) -> None:
        ids = [a.id for a, _ in articles]
        hashes = {a.id: h for a, h in articles}
        per_article: dict[str, int] = {}
        for chunk in chunks:
            per_article[chunk.article.id] = per_article.get(chunk.article.id, 0) + 1
        for i in range(0, len(ids), 100):
            self.passages.delete(where={"article_id": {"$in": ids[i : i + 100]}})
            self.pending.delete(where={"article_id": {"$in": ids[i : i + 100]}})
        for i in range(0, len(chunks), self.max_batch):
            part = chunks[i : i + self.max_batch]
            self.pending.add(
                ids=[c.chunk_id for c in part],
                embeddings=[_NO_VECTOR] * len(part),
                metadatas=[_pending_metadata(c.metadata(hashes[c.article.id])) for c in part],
            )
        for i in range(0, len(articles), self.max_batch):
            part = articles[i : i + self.max_batch]
            self.articles.upsert(
                ids=[a.id for a, _ in part],
                embeddings=[_NO_VECTOR for _ in part],  # articles are looked up by id, never by vector
                documents=[a.text for a, _ in part],
                metadatas=[
                    {**_article_metadata(a, h), "authors": json.dumps(a.authors), "chunks": per_article.get(a.id, 0)} for a, h in part
                ],
            )

    # ---- the vector fill -------------------------------------------------------------------

    def pending_ids(self) -> list[str]:
        """Ids of the chunks written without their embedding, in the order they were written."""
        return list(self.pending.get(include=[])["ids"])

    def pending_count(self) -> int:
        return self.pending.count()

    def get_pending(self, chunk_ids: Sequence[str]) -> list[tuple[str, str, dict[str, Any]]]:
        """Those of ``chunk_ids`` still pending and committed: id, text and metadata, as an embedded chunk has them."""
        got = self.pending.get(ids=list(chunk_ids), include=["metadatas"])
        return self._expand(got["ids"], got["metadatas"])[0]

    def _expand(self, ids: Sequence[str], metadatas: Sequence[Any]) -> tuple[list[tuple[str, str, dict[str, Any]]], list[str]]:
        """Pending chunks with their text and full metadata, from their article records; and the
        ids of those whose article is committed with another content (stale: never visible)."""
        articles = list(dict.fromkeys(str(m["article_id"]) for m in metadatas))
        got = self.articles.get(ids=articles, include=["documents", "metadatas"])
        records = {aid: (text, meta) for aid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)}
        chunks: list[tuple[str, str, dict[str, Any]]] = []
        stale: list[str] = []
        for chunk_id, compact in zip(ids, metadatas, strict=True):
            record = records.get(str(compact["article_id"]))
            if record is None:
                continue  # its article record is not written yet (or a crash left the chunk behind)
            text, article_meta = record
            if article_meta.get("hash") != compact.get("hash"):
                stale.append(chunk_id)
                continue
            meta = {key: article_meta[key] for key in _ARTICLE_KEYS if key in article_meta}
            meta.update(json.loads(compact["chunk"]))
            chunks.append((chunk_id, text[int(meta["start"]) : int(meta["end"])], meta))
        return chunks, stale

    def fill(self, chunks: Sequence[tuple[str, str, dict[str, Any]]], vectors: np.ndarray) -> None:
        """Give pending chunks their embeddings: added to the passages first, then taken out of the
        pending ones, so a crash between the two leaves a chunk in both, never in neither. A chunk
        replaced meanwhile (its article ingested again, with another content hash) is left alone.
        Searches see the change; the generation is not advanced (the words did not change: see
        ``finish_fill``)."""
        ids = [cid for cid, _, _ in chunks]
        if not ids:
            return
        current = self.pending.get(ids=ids, include=["metadatas"])
        still = {cid: (meta or {}).get("hash") for cid, meta in zip(current["ids"], current["metadatas"], strict=True)}
        keep = [i for i, (cid, _, meta) in enumerate(chunks) if still.get(cid) == meta.get("hash")]
        if not keep:
            return
        for first in range(0, len(keep), self.max_batch):
            rows = keep[first : first + self.max_batch]
            self.passages.upsert(
                ids=[chunks[i][0] for i in rows],
                embeddings=vectors[rows],
                documents=[chunks[i][1] for i in rows],
                metadatas=[chunks[i][2] for i in rows],
            )
        self.pending.delete(ids=[chunks[i][0] for i in keep])

    def finish_fill(self) -> None:
        """Mark the store changed after a fill, so indexes derived from it are made again with the new vectors."""
        self.sentences.next_generation()

    def recorded_encoder(self) -> str | None:
        """The encoder the index was built with (``Encoder.name``), if one is recorded."""
        value = (self.pending.metadata or {}).get("encoder")
        return str(value) if value else None

    def record_encoder(self, name: str) -> None:
        self.pending.modify(metadata={"encoder": name})

    # ---- reading -------------------------------------------------------------------------

    def query_ids(self, vector: np.ndarray, n: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        """Nearest chunks, ids and scores only (texts are read once, for the fused top): ``(chunk_id, cosine similarity)``.

        Chroma returns fewer than ``n`` when the collection holds fewer; it is not counted first,
        since counting reads the whole collection (7 ms at 100,000 chunks, six times the look-up).
        """
        try:
            result = self.passages.query(query_embeddings=[vector.tolist()], n_results=n, where=where, include=["distances"])
        except InternalError as exc:
            # Seen after an ingest was killed while Chroma was persisting its vector index (see SECURITY.md).
            raise DatelineError(
                f"the vector index at {self.location} cannot be read ({exc}); "
                "it was probably damaged by a process killed while writing: ingest the archive into a new index"
            ) from None
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(result["ids"][0], result["distances"][0], strict=True)]

    def vectors_for_text(self, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored embeddings of chunks with these text hashes, so a repeated text is not encoded again."""
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(text_hashes), 500):
            got = self.passages.get(where={"text_hash": {"$in": list(text_hashes[i : i + 500])}}, include=["metadatas", "embeddings"])
            for meta, vector in zip(got["metadatas"], got["embeddings"], strict=True):
                found.setdefault(str(meta["text_hash"]), np.asarray(vector, dtype=np.float32))
        return found

    def get_passages(self, chunk_ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Text and metadata of those of ``chunk_ids`` that exist, embedded or pending."""
        got = self.passages.get(ids=list(chunk_ids), include=["documents", "metadatas"])
        found = {cid: (doc, dict(meta)) for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)}
        missing = [cid for cid in chunk_ids if cid not in found]
        if missing:
            found.update((cid, (text, meta)) for cid, text, meta in self.get_pending(missing))
        return found

    def iter_passages(self, page: int = 5000) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every chunk: id, text and metadata."""
        for got in self.iter_pages(page):
            yield from zip(got["ids"], got["documents"], (dict(m) for m in got["metadatas"]), strict=True)

    def iter_pages(self, page: int = 5000, vectors: bool = False, include_documents: bool = True) -> Iterator[Any]:
        """Every chunk, ``page`` at a time, as Chroma returns them (ids, metadatas, documents unless
        ``include_documents`` is off, and with ``vectors`` embeddings): the embedded ones, then the
        pending ones, whose pages have no ``embeddings`` (None)."""
        include = [*(["documents"] if include_documents else []), "metadatas"]
        embedded = list(self.passages.get(include=[])["ids"])
        yield from _pages_by_id(self.passages, [*include, *(["embeddings"] if vectors else [])], page, embedded)
        done = set(embedded)
        pending = [cid for cid in self.pending_ids() if cid not in done]  # in both only after a crash mid-fill
        for got in _pages_by_id(self.pending, ["metadatas"], page, pending):
            chunks, _ = self._expand(got["ids"], got["metadatas"])
            yield {
                "ids": [cid for cid, _, _ in chunks],
                "documents": [text for _, text, _ in chunks],
                "metadatas": [meta for _, _, meta in chunks],
                "embeddings": None,
            }

    def drop_stale_pending(self, chunk_ids: Sequence[str]) -> int:
        """Delete those of ``chunk_ids`` pending for a version of their article that was replaced
        (left by a crash): never visible, they would be counted as waiting for vectors forever."""
        got = self.pending.get(ids=list(chunk_ids), include=["metadatas"])
        _, stale = self._expand(got["ids"], got["metadatas"])
        if stale:
            self.pending.delete(ids=stale)
        return len(stale)

    def article(self, article_id: str) -> Article | None:
        got = self.articles.get(ids=[article_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        meta = got["metadatas"][0]
        return Article(
            id=article_id,
            url=meta.get("url", ""),
            title=meta.get("title", ""),
            source=meta.get("source", ""),
            published=meta.get("published"),
            authors=json.loads(meta.get("authors", "[]")),
            text=got["documents"][0],
        )

    def iter_articles(self, page: int = 500) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every article record: id, full text and metadata, paged by id (see ``iter_pages``)."""
        for got in _pages_by_id(self.articles, ["documents", "metadatas"], page):
            yield from zip(got["ids"], got["documents"], (dict(m) for m in got["metadatas"]), strict=True)

    def iter_article_metadata(self, page: int = 5000) -> Iterator[tuple[str, dict[str, Any]]]:
        offset = 0
        while True:
            got = self.articles.get(limit=page, offset=offset, include=["metadatas"])
            if not got["ids"]:
                return
            yield from zip(got["ids"], (dict(m) for m in got["metadatas"]), strict=True)
            offset += len(got["ids"])

    def article_count(self) -> int:
        """Committed articles: each has exactly one record, so Chroma's own count is enough."""
        return self.articles.count()

    def counts(self) -> tuple[int, int]:
        """Committed articles and their chunks (chunks of an article whose record is not written yet do not count)."""
        articles = chunks = 0
        for _, meta in self.iter_article_metadata():
            articles += 1
            chunks += int(meta.get("chunks", 0))
        return articles, chunks

    def verify(self) -> list[str]:
        """Problems with the index, each a sentence; empty when every committed article has exactly its chunks."""
        expected = {aid: (str(meta.get("hash")), int(meta.get("chunks", 0))) for aid, meta in self.iter_article_metadata()}
        found: dict[str, int] = {}
        orphans = 0
        for _, _, meta in self.iter_passages():
            aid = meta["article_id"]
            if aid in expected and expected[aid][0] == meta.get("hash"):
                found[aid] = found.get(aid, 0) + 1
            else:
                orphans += 1
        problems = [f"article {aid}: {found.get(aid, 0)} of {n} chunks" for aid, (_, n) in expected.items() if found.get(aid, 0) != n]
        if orphans:
            problems.append(f"{orphans} chunk(s) of uncommitted articles (invisible to search; the next ingest replaces them)")
        return problems


def _pages_by_id(collection: Any, include: list[str], page: int, ids: list[str] | None = None) -> Iterator[Any]:
    """Every record of a collection, ``page`` at a time, as Chroma returns them.

    Pages by id, not by offset: Chroma reaches an offset by reading every row before it, so
    paging by offset costs the square of the collection (a page at 95,000 took 1.8 times one at
    0); the ids alone are read in one call (0.2 s for 100,000).
    """
    ids = collection.get(include=[])["ids"] if ids is None else ids
    for first in range(0, len(ids), page):
        try:
            got = collection.get(ids=ids[first : first + page], include=include)
        except InternalError as exc:
            if "embeddings" not in include or "Error finding id" not in str(exc):
                raise
            got = _salvaged_page(collection, ids[first : first + page], include)
        if got["ids"]:
            yield got


def _salvaged_page(collection: Any, ids: list[str], include: list[str]) -> dict[str, Any]:
    """A page read without its vectors when Chroma's vector segment has lost some of its ids (seen
    after an ingest was killed while Chroma persisted it): the chunks are all there, found by their
    words (``embeddings`` None, as for chunks not yet encoded) until they are written again."""
    got = dict(collection.get(ids=ids, include=[i for i in include if i != "embeddings"]))
    got["embeddings"] = None
    return got
