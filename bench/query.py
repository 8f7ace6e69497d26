"""Query latency as the index grows: search and ask, warm, with and without date filters.

    python bench/query.py --chunks 10000 [--chunks 100000] [--from indexes/when] [--questions 40] [--json]

The chunks are real: chunk texts, metadata and embeddings copied from an index built from real
articles (default indexes/when: ../shared/data/when/articles.jsonl.gz, ingested first when the
index is not there, as `dateline eval` on the when set does). Where N is
larger than that index, its chunks are repeated as new articles with their embeddings perturbed
(Gaussian noise, sigma 0.01, renormalised) -- said in the output as `synthetic_copies`. Each size
is built once into indexes/bench-query-N and reused. Questions are the first --questions of
RealTime QA, asked with their as-of day ("filtered") and without ("unfiltered"); and every
question of the when set, asked as its row says (``when_p50_ms`` / ``when_p95_ms``; and
``when_per_search``, that p50 over search's in the same run: it varies less with the machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from results_file import save  # noqa: E402

from qa import Archive, governs  # noqa: E402
from qa.evaluate import read_jsonl  # noqa: E402
from qa.event_vectors import sentence_key  # noqa: E402

QUESTIONS = ROOT.parent / "shared" / "data" / "realtimeqa" / "questions.jsonl"
WHEN = ROOT.parent / "shared" / "data" / "when"


def build(source: Archive, target: Path, chunks: int) -> int:
    """Copy (and, past the source's size, perturb) chunks into a fresh index; returns how many perturbed copies it holds."""
    archive = Archive.open(target)
    # Sentence vectors are keyed by chunk text, which the copies share.
    archive.store.sentences.put(source.store.sentences.get(_all_text_hashes(source)).items())
    # So are the event sentences' own vectors (``qa.event_vectors``): the index is as an ingest leaves it.
    archive.store.sentences.put_own(source.store.sentences.get_own([sentence_key(s) for s in source.events.sentences()]).items())
    existing = archive.store.passages.count()
    if existing >= chunks:
        return -(-existing // max(source.store.passages.count(), 1)) - 1  # copies made when it was built
    rng = np.random.default_rng(0)
    # Page by page: one get of every row with its embedding asks SQLite for too many variables past ~30,000 chunks.
    rows: dict[str, list] = {"ids": [], "documents": [], "metadatas": [], "embeddings": []}
    for page in source.store.iter_pages(vectors=True):
        for key in rows:
            rows[key].extend(page[key])
    articles: dict[str, list] = {"ids": [], "documents": [], "metadatas": []}
    for article_id, text, meta in source.store.iter_articles():
        articles["ids"].append(article_id)
        articles["documents"].append(text)
        articles["metadatas"].append(meta)
    total = len(rows["ids"])
    copies = 0
    written = 0
    while written < chunks:
        suffix = f"~{copies}" if copies else ""
        take = min(total, chunks - written)
        vectors = np.asarray(rows["embeddings"][:take], dtype=np.float32)
        if copies:
            vectors = vectors + rng.normal(0, 0.01, vectors.shape).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        metadatas = [{**m, "article_id": m["article_id"] + suffix} for m in rows["metadatas"][:take]]
        ids = [cid + suffix for cid in rows["ids"][:take]]
        documents = rows["documents"][:take]
        step = archive.store.max_batch
        for i in range(0, take, step):
            archive.store.passages.add(
                ids=ids[i : i + step], embeddings=vectors[i : i + step], documents=documents[i : i + step],
                metadatas=metadatas[i : i + step],
            )  # fmt: skip
        for i in range(0, len(articles["ids"]), step):
            archive.store.articles.upsert(
                ids=[aid + suffix for aid in articles["ids"][i : i + step]],
                embeddings=[[0.0]] * len(articles["ids"][i : i + step]),
                documents=articles["documents"][i : i + step],
                metadatas=articles["metadatas"][i : i + step],
            )
        written += take
        copies += 1
    return copies - 1


def _all_text_hashes(archive: Archive) -> list[str]:
    return [str(meta["text_hash"]) for _, _, meta in archive.store.iter_passages()]


def measure(index: Path, questions: list[dict], when_questions: list[dict]) -> dict:
    started = time.perf_counter()
    archive = Archive.open(index, create=False)
    archive.search("warm up the lexical index", k=1)
    archive.ask(questions[0]["question"])
    warm_seconds = time.perf_counter() - started
    # Warm: one untimed pass, so every chunk the questions reach has its sentence vectors stored
    # (an index built before they existed fills them on first use). Question vectors are
    # forgotten before each timed call, so their encoding is counted.
    for row in questions:
        archive.ask(row["question"])
        archive.ask(row["question"], as_of=row["as_of"], since=dt.date.fromisoformat(row["as_of"]) - dt.timedelta(days=60))
    timings: dict[str, list[float]] = {}
    for row in questions:
        as_of = dt.date.fromisoformat(row["as_of"])
        for label, kwargs in (("unfiltered", {}), ("filtered", {"as_of": as_of, "since": as_of - dt.timedelta(days=60)})):
            for kind in ("search", "ask"):
                archive.encoder.forget_queries()
                started = time.perf_counter()
                if kind == "search":
                    archive.search(row["question"], k=10, **kwargs)
                else:
                    archive.ask(row["question"], **kwargs)
                timings.setdefault(f"{kind}_{label}", []).append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    archive.events  # noqa: B018 -- the event index, built (or loaded) once per index version
    events_seconds = time.perf_counter() - started
    for row in when_questions:
        archive.ask(row["question"], as_of=row.get("as_of"))
    for row in when_questions:
        archive.encoder.forget_queries()
        governs.forget()
        started = time.perf_counter()
        archive.ask(row["question"], as_of=row.get("as_of"))
        timings.setdefault("when", []).append((time.perf_counter() - started) * 1000)
    result = {
        "chunks": archive.store.passages.count(),
        "event_records": len(archive.events),
        "event_sentences_encoded": archive.store.sentences.count_own(),
        "open_and_warm_s": round(warm_seconds, 1),
        "event_index_s": round(events_seconds, 1),
    }
    for key, values in timings.items():
        values.sort()
        result[f"{key}_p50_ms"] = round(statistics.median(values), 1)
        result[f"{key}_p95_ms"] = round(values[min(len(values) - 1, int(0.95 * len(values)))], 1)
    kind_all = {k: sorted(v for key, vs in timings.items() if key.startswith(k) for v in vs) for k in ("search", "ask", "when")}
    for kind, values in kind_all.items():
        result[f"{kind}_p50_ms"] = round(statistics.median(values), 1)
        result[f"{kind}_p95_ms"] = round(values[min(len(values) - 1, int(0.95 * len(values)))], 1)
    result["when_per_search"] = round(result["when_p50_ms"] / result["search_p50_ms"], 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, action="append", default=None)
    parser.add_argument("--from", dest="source", type=Path, default=ROOT / "indexes" / "when")
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not QUESTIONS.exists() or not WHEN.exists():
        print(f"needs {QUESTIONS} and {WHEN} (../shared beside the project)", file=sys.stderr)
        return 2
    questions = read_jsonl(QUESTIONS)[: args.questions]
    when_questions = read_jsonl(WHEN / "questions.jsonl")
    source = Archive.open(args.source)
    if not source.article_count():
        print(f"indexing {WHEN / 'articles.jsonl.gz'} into {args.source} first (about 15 minutes on two cores)")
        source.ingest([WHEN / "articles.jsonl.gz"])
    results = []
    for chunks in args.chunks or [10_000]:
        target = ROOT / "indexes" / f"bench-query-{chunks}"
        started = time.perf_counter()
        reused = (target / "chroma.sqlite3").exists()
        copies = build(source, target, chunks)
        row = {"synthetic_copies": copies, "build_s": "reused" if reused else round(time.perf_counter() - started, 1)}
        row.update(measure(target, questions, when_questions))
        results.append(row)
        print(json.dumps(row))
    save("query", results)
    if len(results) > 1:
        base = results[0]
        for row in results[1:]:
            print(f"{row['chunks']} vs {base['chunks']} chunks: search p50 x{row['search_p50_ms'] / base['search_p50_ms']:.2f}, "
                  f"ask p50 x{row['ask_p50_ms'] / base['ask_p50_ms']:.2f}")  # fmt: skip
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
