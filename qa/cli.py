"""``dateline``: the command line, a thin mirror of ``qa.Archive``.

Each command prints one JSON object with ``--json``, readable text otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from qa.errors import DatelineError
from qa.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dateline", description="Answers over a news archive, dated and cited.")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--index", type=Path, default=None, help="index folder (default: $DATELINE_INDEX or indexes/default)")
        sub.add_argument("--chroma-url", default=None, help="use a Chroma server (chroma run) instead of a folder")
        sub.add_argument("--json", action="store_true", help="print one JSON object")
        return sub

    ingest = command("ingest", "index articles from files, folders, WARC files and feeds (files or URLs)")
    ingest.add_argument("paths", nargs="+", help="files or folders; .warc/.warc.gz web archives; .rss/.atom/.xml feeds or feed URLs")
    ingest.add_argument(
        "--no-embed", action="store_true", help="stop once the articles are searchable by words; `dateline embed` computes the vectors"
    )
    command(
        "embed",
        "compute the vectors of chunks ingested without them, then encode each event sentence on its own (continues an interrupted ingest)",
    )
    follow = command("follow", "keep the archive current from a list of feeds")
    follow.add_argument("feeds", type=Path, help="a text file: one feed URL or file per line, # comments")
    follow.add_argument("--every", default=None, help="poll again after this long (30s, 15m, 2h); default: one round, then exit")
    follow.add_argument("--state", type=Path, default=None, help="where seen items are kept (default: FEEDS.state.json beside the list)")
    follow.add_argument("--concurrency", type=int, default=4, help="pages fetched at a time")
    follow.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for a page")
    for name, help_text in (
        ("ask", "answer a question with citations"),
        ("search", "find passages"),
        ("timeline", "dated events that match"),
    ):
        sub = command(name, help_text)
        sub.add_argument("text", metavar="QUESTION" if name == "ask" else "QUERY")
        sub.add_argument(
            "--as-of",
            default=None,
            help="answer as of this day (YYYY-MM-DD): nothing that happened after it; with --until too, only what was published by then",
        )
        sub.add_argument("--since", default=None, help="published on or after this day")
        sub.add_argument("--until", default=None, help="published on or before this day")
        sub.add_argument("--source", action="append", default=None, help="only this source (repeatable)")
        if name != "timeline":
            sub.add_argument("-k", type=int, default=5 if name == "ask" else 10, help="how many citations / results")
        if name == "ask":
            sub.add_argument(
                "--reader", choices=["extractive", "llm"], default="extractive", help="llm: the LLM at DATELINE_LLM_URL writes the answer"
            )
    command("stats", "count articles and chunks")
    evaluate = command("eval", "score answers on a question set (RealTime QA format, or when-questions with accept)")
    evaluate.add_argument(
        "--questions", type=Path, required=True, help="questions JSONL: id, question, as_of, and answers (RealTime QA) or accept (days)"
    )
    evaluate.add_argument("--timelines", type=Path, default=None, help="timelines JSONL (query, events) to score with when-questions")
    evaluate.add_argument(
        "--no-llamaindex", action="store_true", help="with when-questions, skip LlamaIndex's retriever as an anchor (bench extra)"
    )
    evaluate.add_argument("--articles", type=Path, required=True, help="articles to ingest first (skipped when already indexed)")
    evaluate.add_argument("--baselines", type=Path, default=None, help="LLM predictions (default: baselines.jsonl beside them)")
    evaluate.add_argument("--no-as-of", action="store_true", help="ignore each question's as_of day")
    evaluate.add_argument("--reader", choices=["extractive", "llm"], default="extractive", help="llm: answers by DATELINE_LLM_URL's model")
    evaluate.add_argument("--limit", type=int, default=None, help="only the first N questions")
    evaluate.add_argument(
        "--results",
        "--misses",
        dest="results",
        type=Path,
        default=None,
        help="write every question's result (answer, correct, recall rank) as JSONL here",
    )
    agents = command("mcp", "serve the archive to agents over the Model Context Protocol (stdio, or --http)")
    agents.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    agents.add_argument("--host", default="127.0.0.1", help="with --http: address to bind (default: this machine only)")
    agents.add_argument("--port", type=int, default=8765, help="with --http: port (the endpoint is /mcp)")
    serve = command("serve", "serve the REST API and the chat page")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-fill", action="store_true", help="do not compute the vectors of pending chunks while serving")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides: dict[str, Any] = {}
    if args.index is not None:
        overrides["index"] = args.index
    if args.chroma_url is not None:
        overrides["chroma_url"] = args.chroma_url
    settings = Settings(**overrides)
    try:
        return _run(args, settings)
    except DatelineError as exc:
        _emit_error(args, str(exc))
        return 2


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from qa.archive import Archive

    if args.command == "ingest":
        from qa.ingest import is_url

        for path in args.paths:
            if not is_url(path) and not Path(path).exists():
                raise DatelineError(f"{path}: no such file or folder")
        archive = Archive.open(settings=settings, create=True)
        report = archive.ingest(args.paths, progress=_ingest_progress(args), embed=not args.no_embed)
        _emit(args, report, _ingest_text(report, archive.store.location))
        if report.interrupted:
            return 130
        indexed = report.articles_added + report.articles_updated + report.articles_skipped
        return 0 if indexed else 1
    if args.command == "eval":
        return _eval(args, settings)
    if args.command == "follow":
        return _follow(args, settings)
    if args.command == "mcp":
        from qa.archive import Archive
        from qa.mcp_server import build_server

        server = build_server(Archive.open(settings=settings, create=False))
        if args.http:
            server.run("streamable-http", host=args.host, port=args.port)
        else:
            server.run("stdio")
        return 0
    archive = Archive.open(settings=settings, create=False)
    if args.command == "serve":
        import uvicorn

        from api import create_app

        uvicorn.run(create_app(archive, settings, fill=not args.no_fill), host=args.host, port=args.port, log_level="info")
        return 0
    if args.command == "stats":
        stats = archive.stats()
        share = f"{stats.embedded} embedded, {stats.embedded_share:.0%}"
        text = f"{stats.articles} articles, {stats.chunks} chunks ({share}) in {archive.store.location}"
        _emit(args, stats, text + (f"\nencoder: {stats.encoder}" if stats.encoder else ""))
        return 0
    if args.command == "embed":
        fill = archive.embed(_ingest_progress(args))
        text = (
            f"{fill.embedded} chunks embedded ({fill.encoded} texts encoded) in {fill.seconds:.0f} s; {fill.pending} without vectors\n"
            f"{fill.sentences} event sentences encoded on their own in {fill.sentence_seconds:.0f} s; {fill.sentences_pending} left"
        )
        _emit(args, dataclasses.asdict(fill), text)
        return 130 if fill.interrupted else 0
    filters = {"as_of": args.as_of, "since": args.since, "until": args.until, "source": args.source}
    if args.command == "ask":
        answer = archive.ask(args.text, k=args.k, reader=args.reader, **filters)
        _emit(args, answer, _answer_text(answer))
    elif args.command == "search":
        passages = archive.search(args.text, k=args.k, **filters)
        payload = {"results": [p.model_dump(mode="json") for p in passages]}
        lines = [f"{i}. [{p.published or '?'}] {p.title} ({p.source})\n   {p.text[:300]}" for i, p in enumerate(passages, 1)]
        _emit(args, payload, "\n".join(lines) or "No passages found.")
    elif args.command == "timeline":
        timeline = archive.timeline(args.text, **filters)
        lines = [
            f"{e.date} ({e.precision})  {e.quote}\n      {e.sources} source(s): {', '.join(c.title for c in e.citations)}"
            for e in timeline.events
        ]
        _emit(args, timeline.model_dump(mode="json", exclude={"query"}), "\n".join(lines) or "No dated events found.")
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from qa.archive import Archive
    from qa.evaluate import evaluate, read_jsonl, table
    from qa.evaluate_when import is_when_set

    for path in (args.questions, args.articles, *([args.timelines] if args.timelines else [])):
        if not path.exists():
            raise DatelineError(f"{path}: no such file")
    archive = Archive.open(settings=settings, create=True)
    report = archive.ingest([args.articles], progress=_ingest_progress(args))
    if report.errors:
        print(f"{len(report.errors)} article record(s) could not be read; first: {report.errors[0]}", file=sys.stderr)
    questions = read_jsonl(args.questions)[: args.limit]
    if is_when_set(questions):
        return _eval_when(args, archive, questions)
    baselines_path = args.baselines or args.questions.with_name("baselines.jsonl")
    baselines = read_jsonl(baselines_path) if baselines_path.exists() else []
    result = evaluate(archive, questions, baselines, use_as_of=not args.no_as_of, progress=_question_progress(args), reader=args.reader)
    if args.results:
        args.results.write_text("".join(r.model_dump_json() + "\n" for r in result.results))
    if args.json:
        print(json.dumps(result.model_dump(mode="json", by_alias=True)))
    else:
        print(table(result))
    return 0


def _eval_when(args: argparse.Namespace, archive: Any, questions: list[dict[str, Any]]) -> int:
    from qa.evaluate import read_jsonl
    from qa.evaluate_when import evaluate_when, table

    timelines = read_jsonl(args.timelines) if args.timelines else None
    report = evaluate_when(
        archive, questions, timelines, llamaindex=not args.no_llamaindex, progress=_question_progress(args), reader=args.reader
    )
    if args.results:
        args.results.write_text("".join(r.model_dump_json() + "\n" for r in report.results))
    if args.json:
        print(json.dumps(report.model_dump(mode="json")))
    else:
        print(table(report))
    return 0


def _wants_progress(args: argparse.Namespace) -> bool:
    """Progress bars on a terminal (or with DATELINE_PROGRESS set), never with --json."""
    return not args.json and (sys.stderr.isatty() or bool(os.environ.get("DATELINE_PROGRESS")))


def _question_progress(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """A bar of the questions an evaluation has answered."""
    if not _wants_progress(args):
        return None
    from tqdm import tqdm

    bar = tqdm(unit=" questions", desc="eval", file=sys.stderr)
    return bar.update


def _ingest_progress(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """One progress bar per phase: articles read (no total), then chunks embedded (with an ETA)."""
    if not _wants_progress(args):
        return None
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def progress(phase: str, done: int, total: int | None) -> None:
        if phase not in bars:
            for bar in bars.values():
                bar.close()
            unit, desc = {
                "read": (" articles", "read (searchable by words)"),
                "embed": (" chunks", "embed (vectors)"),
                "sentences": (" sentences", "encode event sentences"),
            }[phase]
            bars[phase] = tqdm(total=total, unit=unit, desc=desc, file=sys.stderr)
        bars[phase].update(done)
        if total is not None and bars[phase].n >= total:
            bars[phase].close()

    return progress


def _emit(args: argparse.Namespace, payload: BaseModel | dict[str, Any], text: str) -> None:
    if args.json:
        data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
        print(json.dumps(data, ensure_ascii=False))
    else:
        print(text)


def _follow(args: argparse.Namespace, settings: Settings) -> int:
    from qa.archive import Archive
    from qa.follow import FeedRound, Follower, parse_every, read_feed_list
    from qa.web import Fetcher

    feeds = read_feed_list(args.feeds)
    every = parse_every(args.every) if args.every else None
    state = args.state or args.feeds.with_name(args.feeds.name + ".state.json")
    archive = Archive.open(settings=settings, create=True)
    follower = Follower(archive, feeds, state, Fetcher(timeout=args.timeout, concurrency=args.concurrency))

    def emit(result: FeedRound) -> None:  # one line per feed and round, as it happens
        print(json.dumps(result.as_dict()) if args.json else result.line(), flush=True)

    try:
        finished = follower.run(every, emit)
    except KeyboardInterrupt:
        finished = False
    return 0 if finished else 130


def _emit_error(args: argparse.Namespace, message: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps({"error": message}))
    print(f"dateline: error: {message}", file=sys.stderr)


def _ingest_text(report: Any, location: str) -> str:
    lines = [
        f"{report.articles_added} added, {report.articles_updated} updated, {report.articles_skipped} unchanged; "
        f"{report.chunks} chunks written to {location}"
    ]
    if report.passed_over:
        lines.append("  not articles: " + ", ".join(f"{n} {reason}" for reason, n in sorted(report.passed_over.items())))
    lines += [f"  error: {e.where()}: {e.reason}" for e in report.errors]
    lines.append(f"  searchable by words after {report.read_seconds:.1f} s")
    if report.embedded or report.embed_seconds:
        lines.append(f"  vectors for {report.embedded} chunks ({report.encoded} texts encoded) in {report.embed_seconds:.1f} s")
    if report.sentences or report.sentence_seconds:
        lines.append(f"  {report.sentences} event sentences encoded on their own in {report.sentence_seconds:.1f} s")
    if report.pending:
        lines.append(f"  {report.pending} chunks still without vectors (found by words only): `dateline embed` computes them")
    elif report.sentences_pending:
        lines.append(f"  {report.sentences_pending} event sentences not yet encoded on their own: `dateline embed` continues")
    if report.interrupted:
        lines.append("Interrupted: every batch written so far is complete; run the same command again to finish.")
    return "\n".join(lines)


def _answer_text(answer: Any) -> str:
    if answer.answer is None:
        return answer.message
    lines = [
        f"Q: {answer.question}",
        f"A: {answer.answer}" + (f"  (event date {answer.date})" if answer.date else ""),
        f"   confidence {answer.confidence}",
    ]
    if answer.message:
        lines.append(f"   {answer.message}")
    for i, c in enumerate(answer.citations, 1):
        lines.append(f"[{i}] {c.title} — {c.source or 'unknown source'}, published {c.published or 'unknown'}")
        lines.append(f"    \u201c{c.quote}\u201d")
        lines.append(f"    {c.url or c.article_id} (characters {c.start}-{c.end})")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
