"""Ingest throughput against the bare encoder, in one process.

    python bench/ingest.py --articles 2000 [--read-only] [--json]

Ingests the first N articles of ../shared/data/archive/news-2023-2025.jsonl.gz into a fresh
index in its two phases (``qa.pipeline``), then encodes the very same chunk texts with the bare
SentenceTransformer in float32, batch 8 (``fp32_s``: what embedding them costs without us).
``lexical_ready_s``: from the start until the articles are written and a first search by words
has answered (the lexical index built); ``embedded_s``: from the start until every chunk has its
vector. Then, timed apart, the third phase: each distinct event sentence encoded on its own
(``event_sentences``, ``event_sentences_s``; ``qa.event_vectors``). ``encoder`` is what the
index records (model, precision); the CPU flags that decide the precision are printed with the
figures. The last line is JSON with --json. Writes bench/results/.
Our ingest encodes with its own forward pass (``Encoder.encode_passages``, faster than
``SentenceTransformer.encode``, and in bfloat16 where the CPU has it: ``encoder_precision``) and
each distinct text once (``texts_encoded``), so ``ratio`` can pass 1.

With --llamaindex and the bench extra installed (pip install -e ".[bench]") it also runs LlamaIndex's default
ingestion on the same articles (VectorStoreIndex over a ChromaVectorStore, default node parser,
the same packaged model through HuggingFaceEmbedding) and reports ``vs_llamaindex``: text actually
embedded per second, ours over theirs. The model reads at most 256 word pieces of a text, so
LlamaIndex's 1,024-token nodes count only for what fits; word pieces are the unit for both.
``peak_rss_mb`` is read right after our ingest, before the other runs.

    python bench/ingest.py --warc --articles 1000 [--warc-mb 1000] [--json]

Web archives: writes a .warc.gz of the articles as news pages (navigation, related links and a
footer around the article; with --warc-mb, repeated under new addresses up to that size), then
times in one process: parsing it alone with FastWARC and with warcio (alternating, median of 3);
``qa.web.read_warc`` turning it into articles (``warc_articles_per_s``, resident memory sampled as
it reads: peak and growth per 1,000 records over the second half); and our encoder on the chunks
of the first 100 of those articles (``encoder_articles_per_s``). ``extraction_vs_encoder`` is the
ratio: reading must not be what an ingest waits for.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
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
        started = time.perf_counter()
        written = [0]

        def sample(phase: str, done: int, total: int | None) -> None:
            written[0] += done if phase == "embed" else 0
            samples.append((written[0], rss_mb()))

        report = archive.ingest(itertools.islice(read_paths([args.source]), args.articles), sample)
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


def news_page(article: Article, number: int) -> bytes:
    """An article as a news site serves it: metadata in the head, boilerplate around the text."""
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in article.text.split("\n") if p.strip())
    related = "".join(f'<li><a href="/story/{number + k}">Related story {number + k}</a></li>' for k in range(1, 9))
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(article.title)}</title>"
        f'<meta property="article:published_time" content="{article.published_day or ""}">'
        f'<meta name="author" content="{html.escape(", ".join(article.authors))}">'
        f'<link rel="canonical" href="{html.escape(article.url)}"><script>var analytics = {{"page": {number}}};</script></head>'
        "<body><header><nav><a href='/'>Home</a> <a href='/news'>News</a> <a href='/sport'>Sport</a> <a href='/opinion'>Opinion</a></nav>"
        f"</header><main><article><h1>{html.escape(article.title)}</h1>{paragraphs}</article>"
        f"<aside><h2>More stories</h2><ul>{related}</ul></aside></main>"
        "<footer><p>Contact us · Terms · Privacy · Cookie settings</p><p>All rights reserved.</p></footer></body></html>"
    ).encode()


def write_warc(articles: list[Article], path: Path, megabytes: float | None) -> int:
    """The articles as HTTP responses in a .warc.gz, repeated under new URLs up to ``megabytes``; returns records written."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    written = 0
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        for round_ in itertools.count():
            for number, article in enumerate(articles):
                url = article.url if round_ == 0 else f"{article.url}?copy={round_}"
                headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
                body = news_page(article.model_copy(update={"url": url}), number)
                writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers))
                written += 1
            if megabytes is None or out.tell() >= megabytes * 1e6:
                return written


def parse_rate(path: Path, reader: str) -> float:
    """Records per second through one WARC library, reading every response's body and nothing more."""
    started = time.perf_counter()
    count = 0
    with open(path, "rb") as stream:
        if reader == "fastwarc":
            from fastwarc.warc import ArchiveIterator as FastIterator

            for record in FastIterator(stream, parse_http=False):
                record.reader.read()
                count += 1
        else:
            from warcio.archiveiterator import ArchiveIterator

            for record in ArchiveIterator(stream):
                record.content_stream().read()
                count += 1
    return count / (time.perf_counter() - started)


def warc_figures(args: argparse.Namespace) -> int:
    import statistics

    from qa.models import IngestError, PassedOver
    from qa.web import read_warc

    articles = [a for a in itertools.islice(read_paths([args.source]), args.articles) if isinstance(a, Article)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "crawl.warc.gz"
        records = write_warc(articles, path, args.warc_mb)
        rates: dict[str, list[float]] = {"fastwarc": [], "warcio": []}
        for _ in range(3):
            for reader in rates:
                rates[reader].append(parse_rate(path, reader))
        samples: list[tuple[int, float]] = []
        extracted: list[Article] = []
        kinds = {"articles": 0, "passed_over": 0, "errors": 0}
        rss_before = rss_mb()
        started = time.perf_counter()
        for number, record in enumerate(read_warc(path), start=1):
            if isinstance(record, Article):
                kinds["articles"] += 1
                if len(extracted) < 100:
                    extracted.append(record)
            else:
                kinds["passed_over" if isinstance(record, PassedOver) else "errors"] += isinstance(record, (PassedOver, IngestError))
            if number % 200 == 0:
                samples.append((number, rss_mb()))
        warc_seconds = time.perf_counter() - started
        size_mb = path.stat().st_size / 1e6
    archive_folder = tempfile.TemporaryDirectory()
    archive = Archive.open(Path(archive_folder.name) / "index")
    archive.encoder.encode(["warm-up"] * 8)
    chunker = Chunker(archive.encoder.tokenizer, archive.settings.chunk_tokens, archive.settings.overlap_tokens)
    texts = [chunk.text for article in extracted for chunk in chunker.chunk(article.text)]
    started = time.perf_counter()
    archive.encoder.encode_passages(texts)
    encoder_seconds = time.perf_counter() - started
    archive_folder.cleanup()
    warc_rate = kinds["articles"] / warc_seconds
    encoder_rate = len(extracted) / encoder_seconds
    result = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "warc_mb": round(size_mb, 1),
        "warc_records": records,
        **kinds,
        "fastwarc_records_per_s": round(statistics.median(rates["fastwarc"]), 1),
        "warcio_records_per_s": round(statistics.median(rates["warcio"]), 1),
        "fastwarc_vs_warcio": round(statistics.median(rates["fastwarc"]) / statistics.median(rates["warcio"]), 2),
        "warc_seconds": round(warc_seconds, 2),
        "warc_articles_per_s": round(warc_rate, 1),
        "encoder_chunks": len(texts),
        "encoder_articles_per_s": round(encoder_rate, 2),
        "encoder_precision": archive.encoder.precision,
        "extraction_vs_encoder": round(warc_rate / encoder_rate, 1),
        "rss_mb_before_reading": round(rss_before, 1),
    }
    if len(samples) >= 4:
        (n0, r0), (n1, r1) = samples[len(samples) // 2], samples[-1]
        result["rss_mb_peak_while_reading"] = round(max(r for _, r in samples), 1)
        result["rss_growth_mb_per_1k_records"] = round((r1 - r0) / max(n1 - n0, 1) * 1000, 3)
    return report_figures(f"ingest-warc-{args.articles}", result, args.json)


def cpu_flags() -> str:
    """The CPU's flags that decide how fast the encoder runs (bfloat16 and int8 in hardware)."""
    try:
        flags = set(next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")).split())
    except (OSError, StopIteration):
        return "unknown"
    return " ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16") if f in flags) or "none"


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
    parser.add_argument("--llamaindex", action="store_true", help="also time LlamaIndex's default ingestion (bench extra)")
    parser.add_argument("--read-only", action="store_true", help="stop once the articles are searchable by words (lexical_ready_s)")
    parser.add_argument(
        "--pipeline-only", action="store_true", help="stream the articles into our ingest only (no baselines): peak RSS as N grows"
    )
    parser.add_argument("--warc", action="store_true", help="WARC reading and extraction beside the encoder (see above)")
    parser.add_argument("--warc-mb", type=float, default=None, help="with --warc: repeat the articles until the WARC is this large")
    args = parser.parse_args()
    if not args.source.exists():
        print(f"needs {args.source} (../shared/data beside the project)", file=sys.stderr)
        return 2
    if args.pipeline_only:
        return pipeline_only(args)
    if args.warc:
        return warc_figures(args)
    articles = [a for a in itertools.islice(read_paths([args.source]), args.articles) if isinstance(a, Article)]

    with tempfile.TemporaryDirectory() as folder:
        archive = Archive.open(Path(folder) / "index")
        archive.encoder.encode(["warm-up"] * 8)  # load the model and the tokenizer outside both timings
        archive.encoder.tokenizer("warm-up")
        started = time.perf_counter()
        report = archive.ingest(articles, embed=False)
        archive.search(articles[0].title or articles[0].text[:80], k=5)  # the lexical index is built by the first search
        lexical_ready = time.perf_counter() - started
        print(f"searchable by words after {lexical_ready:.1f} s ({report.chunks} chunks)", file=sys.stderr, flush=True)
        if args.read_only:
            read_only = {"articles": len(articles), "chunks": report.chunks, "read_s": report.read_seconds}
            result = {"date": dt.datetime.now().isoformat(timespec="seconds"), "cpu_flags": cpu_flags(), **read_only}
            return report_figures(f"ingest-read-{args.articles}", {**result, "lexical_ready_s": round(lexical_ready, 2)}, args.json)
        fill = archive.embed(sentences=False)
        pipeline_seconds = time.perf_counter() - started
        pipeline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # The third phase, after the chunks' vectors: each event sentence encoded on its own.
        own = archive.encode_event_sentences()

        chunker = Chunker(archive.encoder.tokenizer, archive.settings.chunk_tokens, archive.settings.overlap_tokens)
        texts = [chunk.text for article in articles for chunk in chunker.chunk(article.text)]
        model = archive.encoder.model
        started = time.perf_counter()
        model.encode(texts, batch_size=archive.settings.encode_batch_size, normalize_embeddings=True, show_progress_bar=False)
        raw_seconds = time.perf_counter() - started
        llamaindex = None
        if args.llamaindex:
            llamaindex = llamaindex_ingest(articles, Path(folder) / "llamaindex", chunker, archive.encoder.model.max_seq_length)

    tokens = sum(len(chunker.token_starts(t)) for t in texts)
    ours_tokens_per_s = tokens / pipeline_seconds
    result = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "cpu_flags": cpu_flags(),
        "articles": len(articles),
        "chunks": report.chunks,
        "encoder": archive.encoder.name,
        "lexical_ready_s": round(lexical_ready, 2),
        "embedded_s": round(pipeline_seconds, 2),
        "fp32_s": round(raw_seconds, 2),
        "embedded_vs_fp32": round(pipeline_seconds / raw_seconds, 3),
        "texts_encoded": fill.encoded,
        "mean_tokens_per_chunk": round(tokens / max(len(texts), 1), 1),
        "pipeline_seconds": round(pipeline_seconds, 2),
        "pipeline_chunks_per_s": round(report.chunks / pipeline_seconds, 2),
        "raw_encoder_seconds": round(raw_seconds, 2),
        "raw_encoder_chunks_per_s": round(len(texts) / raw_seconds, 2),
        "ratio": round((report.chunks / pipeline_seconds) / (len(texts) / raw_seconds), 3),
        "read_s": report.read_seconds,
        "embed_s": fill.seconds,
        "event_sentences": own.encoded,
        "event_sentences_s": own.seconds,
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
