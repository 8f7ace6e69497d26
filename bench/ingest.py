"""Ingest throughput against the bare encoder, in one process.

    python bench/ingest.py --articles 150 [--json]

Ingests the first N articles of ../shared/data/archive/news-2023-2025.jsonl.gz into a fresh
index (reading, chunking, date resolution, encoding, Chroma writes), then encodes the very same
chunk texts with the bare SentenceTransformer. Prints articles, chunks, pipeline chunks/s, raw
encoder chunks/s and their ratio; the last line is JSON with --json. Writes bench/results/.
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

from results_file import save  # noqa: E402

from qa import Archive, Article  # noqa: E402
from qa.chunk import Chunker  # noqa: E402
from qa.ingest import read_paths  # noqa: E402

ARCHIVE = ROOT.parent / "shared" / "data" / "archive" / "news-2023-2025.jsonl.gz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=150)
    parser.add_argument("--source", type=Path, default=ARCHIVE)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.source.exists():
        print(f"needs {args.source} (../shared/data beside the project)", file=sys.stderr)
        return 2
    articles = [a for a in itertools.islice(read_paths([args.source]), args.articles) if isinstance(a, Article)]

    with tempfile.TemporaryDirectory() as folder:
        archive = Archive.open(Path(folder) / "index")
        archive.encoder.encode(["warm-up"] * 8)  # load the model outside both timings
        started = time.perf_counter()
        report = archive.ingest(articles)
        pipeline_seconds = time.perf_counter() - started

        chunker = Chunker(archive.encoder.tokenizer, archive.settings.chunk_tokens, archive.settings.overlap_tokens)
        texts = [chunk.text for article in articles for chunk in chunker.chunk(article.text)]
        model = archive.encoder.model
        started = time.perf_counter()
        model.encode(texts, batch_size=archive.settings.encode_batch_size, normalize_embeddings=True, show_progress_bar=False)
        raw_seconds = time.perf_counter() - started

    tokens = sum(len(chunker.token_starts(t)) for t in texts)
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
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    save(f"ingest-{args.articles}", result)
    for key, value in result.items():
        print(f"{key:>26}: {value}")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
