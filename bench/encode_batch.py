"""Encoder throughput by batch size: how many chunks per forward pass suit this machine.

    python bench/encode_batch.py [--articles 40] [--chunks 320] [--repeat 3] [--json]

Chunks the first articles of ../shared/data/archive/news-2023-2025.jsonl.gz as ingest does and
encodes the same chunk texts with the bare SentenceTransformer at each batch size, in turns,
``--repeat`` times. Prints the median chunks/s per batch size and its ratio to batch size 32
(sentence-transformers' default). Then, at the configured batch size and in turns, the same
texts through ``SentenceTransformer.encode`` and through our ``Encoder.encode_passages`` (one
tokenization, a forward pass under inference mode, and sentence vectors pooled from it): the
median of each and their ratio. Last, ``encode_passages`` in float32 and in bfloat16, in turns:
chunks/s of each and how far bfloat16's passage and sentence vectors are from float32's (cosine).
``--precision-only`` runs just that. Writes bench/results/.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from results_file import ARCHIVE, save  # noqa: E402

from qa import Article  # noqa: E402
from qa.chunk import Chunker  # noqa: E402
from qa.embed import Encoder  # noqa: E402
from qa.ingest import read_paths  # noqa: E402
from qa.settings import Settings  # noqa: E402

SIZES = (1, 2, 4, 8, 16, 32, 64)


def chunks_parser(description: str) -> argparse.ArgumentParser:
    """The options of the benchmarks that encode archive chunks (this one and bench/engines.py)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--chunks", type=int, default=320)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    return parser


def archive_chunks(encoder: Encoder, settings: Settings, articles: int, chunks: int) -> list[str]:
    """The first ``chunks`` chunk texts ingest would make of the first ``articles`` archive articles."""
    chunker = Chunker(encoder.tokenizer, settings.chunk_tokens, settings.overlap_tokens)
    read = [a for a in itertools.islice(read_paths([ARCHIVE]), articles) if isinstance(a, Article)]
    return [c.text for a in read for c in chunker.chunk(a.text)][:chunks]


def main() -> int:
    parser = chunks_parser(__doc__.splitlines()[0])
    parser.add_argument("--precision-only", action="store_true", help="only float32 against bfloat16")
    args = parser.parse_args()
    if not ARCHIVE.exists():
        print(f"needs {ARCHIVE} (../shared/data beside the project)", file=sys.stderr)
        return 2
    settings = Settings()
    encoder = Encoder.shared(settings.resolved_model_dir())
    texts = archive_chunks(encoder, settings, args.articles, args.chunks)
    if args.precision_only:
        result = {"chunks": len(texts), "repeat": args.repeat, **precision(encoder, texts, args.repeat)}
        return report("encode-precision", result, args.json)
    model = encoder.model
    model.encode(texts[:16], batch_size=8)  # warm-up
    rates: dict[int, list[float]] = {size: [] for size in SIZES}
    for _ in range(args.repeat):
        for size in SIZES:
            started = time.perf_counter()
            model.encode(texts, batch_size=size, show_progress_bar=False)
            rates[size].append(len(texts) / (time.perf_counter() - started))
    medians = {size: statistics.median(values) for size, values in rates.items()}
    ours: dict[str, list[float]] = {"sentence_transformers": [], "encode_passages": []}
    for _ in range(args.repeat):
        started = time.perf_counter()
        model.encode(texts, batch_size=settings.encode_batch_size, normalize_embeddings=True, show_progress_bar=False)
        ours["sentence_transformers"].append(len(texts) / (time.perf_counter() - started))
        started = time.perf_counter()
        encoder.encode_passages(texts)
        ours["encode_passages"].append(len(texts) / (time.perf_counter() - started))
    direct = {name: statistics.median(values) for name, values in ours.items()}
    result = {
        "chunks": len(texts),
        "repeat": args.repeat,
        "chunks_per_s": {str(size): round(rate, 1) for size, rate in medians.items()},
        "vs_batch_32": {str(size): round(rate / medians[32], 3) for size, rate in medians.items()},
        "best_batch_size": max(medians, key=lambda size: medians[size]),
        "batch_size": settings.encode_batch_size,
        "sentence_transformers_chunks_per_s": round(direct["sentence_transformers"], 1),
        "encode_passages_chunks_per_s": round(direct["encode_passages"], 1),
        "encode_passages_vs_sentence_transformers": round(direct["encode_passages"] / direct["sentence_transformers"], 3),
    }
    result.update(precision(encoder, texts, args.repeat))
    print(f"{len(texts)} chunks, median of {args.repeat} runs")
    print(f"{'batch':>6} {'chunks/s':>9} {'vs 32':>6}")
    for size in SIZES:
        print(f"{size:>6} {medians[size]:>9.1f} {medians[size] / medians[32]:>6.2f}")
    print(
        f"batch {settings.encode_batch_size}: sentence-transformers {direct['sentence_transformers']:.1f} chunks/s, "
        f"encode_passages {direct['encode_passages']:.1f} ({result['encode_passages_vs_sentence_transformers']:.3f}x)"
    )
    return report("encode-batch", result, args.json)


def precision(encoder: Encoder, texts: list[str], repeat: int) -> dict[str, float]:
    """``encode_passages`` in float32 and in bfloat16 (the same encoder, its precision switched), in turns: speed and agreement."""
    configured = encoder.precision
    rates: dict[str, list[float]] = {"float32": [], "bfloat16": []}
    outputs = {}
    try:
        for name in rates:  # warm-up: each precision's first pass sets up its kernels
            encoder.precision = name  # type: ignore[assignment]
            encoder.encode_passages(texts[:16])
        for _ in range(repeat):
            for name in rates:
                encoder.precision = name  # type: ignore[assignment]
                started = time.perf_counter()
                outputs[name] = encoder.encode_passages(texts)
                rates[name].append(len(texts) / (time.perf_counter() - started))
    finally:
        encoder.precision = configured
    (v32, s32), (v16, s16) = outputs["float32"], outputs["bfloat16"]
    passages = (v32 * v16).sum(axis=1)
    sentences = np.concatenate([(a.vectors * b.vectors).sum(axis=1) for a, b in zip(s32, s16, strict=True) if len(a.vectors)])
    f32, b16 = statistics.median(rates["float32"]), statistics.median(rates["bfloat16"])
    return {
        "float32_chunks_per_s": round(f32, 1),
        "bfloat16_chunks_per_s": round(b16, 1),
        "bfloat16_vs_float32": round(b16 / f32, 3),
        "bfloat16_passage_cosine_min": round(float(passages.min()), 6),
        "bfloat16_sentence_cosine_min": round(float(sentences.min()), 6),
        "bfloat16_sentence_cosine_median": round(float(np.median(sentences)), 6),
    }


def report(name: str, result: dict, as_json: bool) -> int:
    save(name, result)
    for key, value in result.items():
        if key.startswith(("float32", "bfloat16")):
            print(f"{key:>32}: {value}")
    if as_json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
