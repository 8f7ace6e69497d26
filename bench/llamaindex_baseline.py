"""LlamaIndex's default pipeline beside Dateline on the same question set: answer-recall@k.

    python bench/llamaindex_baseline.py [--questions Q.jsonl --articles A.jsonl] [--index DIR] [--json]

LlamaIndex: VectorStoreIndex over a ChromaVectorStore, its default node parser (SentenceSplitter,
1,024-token chunks), the same packaged all-MiniLM-L6-v2 through HuggingFaceEmbedding,
``Settings.llm = None``; retrieval of the top 10 nodes per question. Dateline: ``qa.evaluate``
on its own index (built or reused at --index), with and without each question's as-of day.
answer-recall@k: an accepted answer occurs, as whole words after normalising, in one of the top k
passages. Needs the bench extra: pip install -e ".[bench]".
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from results_file import save  # noqa: E402

from qa import Archive, Article  # noqa: E402
from qa.evaluate import RECALL_AT, evaluate, matches, read_jsonl  # noqa: E402
from qa.ingest import read_paths  # noqa: E402
from qa.settings import packaged_model_dir  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "realtimeqa"


def llamaindex_recall(articles: list[Article], questions: list[dict], folder: Path) -> dict[str, float]:
    import chromadb
    from llama_index.core import Document, Settings, StorageContext, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    Settings.llm = None
    Settings.embed_model = HuggingFaceEmbedding(model_name=str(packaged_model_dir()), device="cpu")
    client = chromadb.PersistentClient(path=str(folder))
    store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("llamaindex"))
    documents = [Document(text=a.text, id_=a.id, metadata={"title": a.title, "published": a.published_day or ""}) for a in articles]
    started = time.perf_counter()
    index = VectorStoreIndex.from_documents(documents, storage_context=StorageContext.from_defaults(vector_store=store))
    build = time.perf_counter() - started
    retriever = index.as_retriever(similarity_top_k=max(RECALL_AT))
    hits = {k: 0 for k in RECALL_AT}
    latencies = []
    for row in questions:
        started = time.perf_counter()
        nodes = retriever.retrieve(row["question"])
        latencies.append((time.perf_counter() - started) * 1000)
        rank = next((i for i, n in enumerate(nodes, 1) if matches(n.node.get_content(), [str(a) for a in row["answers"]])), None)
        for k in RECALL_AT:
            hits[k] += bool(rank and rank <= k)
    n = max(len(questions), 1)
    latencies.sort()
    return {
        **{f"answer_recall@{k}": round(hits[k] / n, 3) for k in RECALL_AT},
        "index_seconds": round(build, 1),
        "p50_ms": round(latencies[len(latencies) // 2], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=DATA / "questions.jsonl")
    parser.add_argument("--articles", type=Path, default=DATA / "articles.jsonl")
    parser.add_argument("--index", type=Path, default=ROOT / "indexes" / "rtqa")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.questions.exists() or not args.articles.exists():
        print(f"needs {args.questions} and {args.articles}", file=sys.stderr)
        return 2
    questions = read_jsonl(args.questions)[: args.limit]
    articles = [a for a in read_paths([args.articles]) if isinstance(a, Article)]

    archive = Archive.open(args.index)
    archive.ingest(articles)  # reuses what the index already holds
    rows = {}
    for label, use_as_of in (("dateline (as-of)", True), ("dateline (no as-of)", False)):
        report = evaluate(archive, questions, use_as_of=use_as_of)
        rows[label] = {f"answer_recall@{k}": getattr(report, f"answer_recall_at_{k}") for k in RECALL_AT} | {"p50_ms": report.p50_ms}
    with tempfile.TemporaryDirectory() as folder:
        rows["llamaindex default"] = llamaindex_recall(articles, questions, Path(folder))

    print(f"{len(questions)} questions, {len(articles)} articles")
    print(f"{'system':<22} " + " ".join(f"{'recall@' + str(k):>10}" for k in RECALL_AT) + f" {'p50 ms':>8}")
    for label, row in rows.items():
        print(f"{label:<22} " + " ".join(f"{row[f'answer_recall@{k}']:>10.3f}" for k in RECALL_AT) + f" {row['p50_ms']:>8.1f}")
    save("llamaindex-baseline", rows)
    if args.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
