"""Ingest throughput against the bare encoder, in one process.

    python bench/ingest.py --articles 150 [--json]

Ingests the first N articles of ../shared/data/archive/news-2023-2025.jsonl.gz into a fresh
index (reading, chunking, date resolution, encoding, Chroma writes), then encodes the very same
chunk texts with the bare SentenceTransformer. Prints articles, chunks, pipeline chunks/s, raw
encoder chunks/s and their ratio; the last line is JSON with --json. Writes bench/results/.
Our ingest encodes with its own forward pass (``Encoder.encode_passages``, faster than
``SentenceTransformer.encode``, and in bfloat16 where the CPU has it: ``encoder_precision``), so
``ratio`` can pass 1; ``ratio_vs_own_encoder`` times that encoder alone on the same texts, and is
what reading, chunking, dates and writes cost beside it.

With the bench extra installed (pip install -e ".[bench]") it also runs LlamaIndex's default
ingestion on the same articles (VectorStoreIndex over a ChromaVectorStore, default node parser,
the same packaged model through HuggingFaceEmbedding) and reports ``vs_llamaindex``: text actually
embedded per second, ours over theirs. The model reads at most 256 word pieces of a text, so
LlamaIndex's 1,024-token nodes count only for what fits; word pieces are the unit for both.
``peak_rss_mb`` is read right after our ingest, before the other runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from results_file import ARCHIVE, rss_mb, save  # noqa: E402

from qa import Archive, Article  # noqa: E402
from qa.chunk import Chunker  # noqa: E402
from qa.ingest import read_paths  # noqa: E402
from qa.pipeline import IngestPipeline  # noqa: E402


def llamaindex_ingest(articles: list[Article], folder: Path, chunker: Chunker, max_tokens: int) -> dict[str, float] | None:
    """LlamaIndex's default ingestion of the same articles; None without the bench extra."""
    try:
        import chromadb
        from llama_index.core import Document, Settings, StorageContext, VectorStoreIndex
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
        from llama_index.vector_stores.chroma import ChromaVectorStore
    except ImportError:
        print("llama-index bench extra not installed: no vs_llamaindex", file=sys.stderr)
        return None
    from qa.settings import packaged_model_dir

    Settings.llm = None
    Settings.embed_model = HuggingFaceEmbedding(model_name=str(packaged_model_dir()), device="cpu")
    Settings.embed_model.get_text_embedding("warm-up")
    client = chromadb.PersistentClient(path=str(folder))
    store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("llamaindex"))
    documents = [Document(text=a.text, id_=a.id, metadata={"title": a.title}) for a in articles]
    started = time.perf_counter()
    index = VectorStoreIndex.from_documents(documents, storage_context=StorageContext.from_defaults(vector_store=store))
    seconds = time.perf_counter() - started
    del index
    # The same default node parser again, outside the timing, to count what was embedded.
    nodes = Settings.node_parser.get_nodes_from_documents(documents)
    # What the model actually read of each node: its first max_tokens word pieces (special tokens aside).
    embedded = sum(min(len(chunker.token_starts(n.get_content())), max_tokens - 2) for n in nodes)
    return {
        "llamaindex_seconds": round(seconds, 2),
        "llamaindex_nodes": len(nodes),
        "llamaindex_nodes_per_s": round(len(nodes) / seconds, 2),
        "llamaindex_embedded_tokens_per_s": round(embedded / seconds, 1),
    }


def pipeline_only(args: argparse.Namespace) -> int:
    """Our ingest alone, reading the archive as a stream, for memory: nothing else holds the articles.

    Resident memory is sampled after every written batch, so growth shows as a slope (MB per
    1,000 chunks) as well as a peak. With DATELINE_CHROMA_URL set the index lives in a
    ``chroma run`` server, and what is left here is the pipeline's own memory.
    """
    samples: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        archive = Archive.open(Path(folder) / "index")
        archive.encoder.encode(["warm-up"] * 8)
        archive.encoder.tokenizer("warm-up")
        rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        pipeline = IngestPipeline(archive.store, archive.encoder, archive.settings)
        started = time.perf_counter()
        report = pipeline.run(
            itertools.islice(read_paths([args.source]), args.articles), lambda _: samples.append((pipeline.report.chunks, rss_mb()))
        )
        seconds = time.perf_counter() - started
    result = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "chroma": "server" if archive.settings.chroma_url else "embedded",
        "encoder_precision": archive.encoder.precision,
        "articles": report.articles_added,
        "chunks": report.chunks,
        "pipeline_seconds": round(seconds, 2),
        "pipeline_chunks_per_s": round(report.chunks / seconds, 2),
        "peak_rss_mb_model_loaded": round(rss_loaded, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if len(samples) >= 4:
        # The slope over the second half of the run, after the first batches have settled the allocators.
        (c0, r0), (c1, r1) = samples[len(samples) // 2], samples[-1]
        result["rss_mb_at_half"] = round(r0, 1)
        result["rss_mb_at_end"] = round(r1, 1)
        result["rss_growth_mb_per_1k_chunks"] = round((r1 - r0) / max(c1 - c0, 1) * 1000, 2)
    return report_figures(f"ingest-pipeline-{args.articles}", result, args.json)


def report_figures(name: str, result: dict, as_json: bool) -> int:
    save(name, result)
    for key, value in result.items():
        print(f"{key:>26}: {value}")
    if as_json:
        print(json.dumps(result))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=150)
    parser.add_argument("--source", type=Path, default=ARCHIVE)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--pipeline-only", action="store_true", help="stream the articles into our ingest only (no baselines): peak RSS as N grows"
    )
    args = parser.parse_args()
    if not args.source.exists():
        print(f"needs {args.source} (../shared/data beside the project)", file=sys.stderr)
        return 2
    if args.pipeline_only:
        return pipeline_only(args)
    articles = [a for a in itertools.islice(read_paths([args.source]), args.articles) if isinstance(a, Article)]

    with tempfile.TemporaryDirectory() as folder:
        archive = Archive.open(Path(folder) / "index")
        archive.encoder.encode(["warm-up"] * 8)  # load the model and the tokenizer outside both timings
        archive.encoder.tokenizer("warm-up")
        started = time.perf_counter()
        report = archive.ingest(articles)
        pipeline_seconds = time.perf_counter() - started
        pipeline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        chunker = Chunker(archive.encoder.tokenizer, archive.settings.chunk_tokens, archive.settings.overlap_tokens)
        texts = [chunk.text for article in articles for chunk in chunker.chunk(article.text)]
        model = archive.encoder.model
        started = time.perf_counter()
        model.encode(texts, batch_size=archive.settings.encode_batch_size, normalize_embeddings=True, show_progress_bar=False)
        raw_seconds = time.perf_counter() - started
        started = time.perf_counter()
        archive.encoder.encode_passages(texts)
        own_seconds = time.perf_counter() - started
        llamaindex = llamaindex_ingest(articles, Path(folder) / "llamaindex", chunker, archive.encoder.model.max_seq_length)

    tokens = sum(len(chunker.token_starts(t)) for t in texts)
    ours_tokens_per_s = tokens / pipeline_seconds
    result = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "articles": len(articles),
        "chunks": report.chunks,
        "mean_tokens_per_chunk": round(tokens / max(len(texts), 1), 1),
        "pipeline_seconds": round(pipeline_seconds, 2),
        "pipeline_chunks_per_s": round(report.chunks / pipeline_seconds, 2),
        "raw_encoder_seconds": round(raw_seconds, 2),
        "raw_encoder_chunks_per_s": round(len(texts) / raw_seconds, 2),
        "ratio": round((report.chunks / pipeline_seconds) / (len(texts) / raw_seconds), 3),
        "own_encoder_chunks_per_s": round(len(texts) / own_seconds, 2),
        "ratio_vs_own_encoder": round(own_seconds / pipeline_seconds, 3),
        "encoder_precision": archive.encoder.precision,
        "embedded_tokens_per_s": round(ours_tokens_per_s, 1),
        "peak_rss_mb": round(pipeline_rss, 1),
    }
    if llamaindex:
        result.update(llamaindex)
        result["vs_llamaindex"] = round(ours_tokens_per_s / llamaindex["llamaindex_embedded_tokens_per_s"], 3)
    return report_figures(f"ingest-{args.articles}", result, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
