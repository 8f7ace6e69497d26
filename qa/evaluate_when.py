"""Evaluation of "when" questions: is the answer's day the event's day, and does its quote say so?

The format is ``../shared/data/when/``: questions with ``kind`` (single, first, last, as_of),
``as_of`` and ``accept`` (the days that count), and timelines with ``events`` (gold days). When
answering, only ``id``, ``question``, ``kind`` (for reporting) and ``as_of`` are read; ``accept``
and the timelines' ``events`` only to score.

Beside Dateline, the same run scores two anchors on the same index: the publication day of the
top search result (how a system that dates answers by document metadata answers), and the
publication day of the top node of LlamaIndex's default retriever over the same Chroma
collection (when the bench extra is installed).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from qa.archive import Archive, Reader
from qa.dates import extract_event_dates
from qa.evaluate import QuoteCheck, latency_percentiles, llm_line, llm_summary
from qa.models import Answer, QuoteChecks

KINDS = ("single", "first", "last", "as_of")


class WhenResult(BaseModel):
    id: str
    question: str
    kind: str
    as_of: str | None
    accept: list[str]
    date: str | None
    precision: str | None
    correct: bool
    cited_day: bool
    quote: str | None
    document_date: str | None
    llamaindex_date: str | None = None
    ms: float
    reader: str = "extractive"
    quote_checks: QuoteChecks | None = None


class AnchorScore(BaseModel):
    date_accuracy: float
    by_kind: dict[str, float]


class TimelineScore(BaseModel):
    id: str
    gold: list[str]
    predicted: list[str]
    precision: float
    recall: float


class TimelineReport(BaseModel):
    timelines: int
    precision: float
    recall: float
    f1: float
    each: list[TimelineScore]


class WhenReport(BaseModel):
    questions: int
    date_accuracy: float
    by_kind: dict[str, float]
    cited_day_rate: float
    citation_verbatim_rate: float
    timeline: TimelineReport | None
    p50_ms: float
    p95_ms: float
    anchors: dict[str, AnchorScore]
    #: The reader asked for, and the share of answers the LLM wrote with verified citations.
    reader: str = "extractive"
    llm_answered: float = 0.0
    llm_quotes: QuoteChecks | None = None
    llm_fallbacks: dict[str, int] = Field(default_factory=dict)
    results: list[WhenResult] = Field(default_factory=list, exclude=True)


def is_when_set(questions: list[dict[str, Any]]) -> bool:
    """Whether question rows are in the when format (gold days in ``accept``)."""
    return bool(questions) and all("accept" in row for row in questions)


def evaluate_when(
    archive: Archive,
    questions: list[dict[str, Any]],
    timelines: list[dict[str, Any]] | None = None,
    *,
    llamaindex: bool = True,
    progress: Callable[[int], None] | None = None,
    reader: Reader = "extractive",
) -> WhenReport:
    """Ask every question as of its ``as_of`` day, draw every timeline, and score both."""
    top_node = _llamaindex_top_node(archive) if llamaindex else None
    results: list[WhenResult] = []
    quotes = QuoteCheck(archive)
    for row in questions:
        as_of = row.get("as_of")
        started = time.perf_counter()
        answer = archive.ask(row["question"], as_of=as_of, k=5, reader=reader)
        ms = (time.perf_counter() - started) * 1000
        quotes.add(answer)
        top = archive.search(row["question"], k=1, as_of=as_of)
        accept = [str(day) for day in row.get("accept", [])]
        dated = answer.date if answer.precision == "day" else None
        results.append(
            WhenResult(
                id=str(row["id"]),
                question=row["question"],
                kind=str(row.get("kind", "single")),
                as_of=as_of,
                accept=accept,
                date=answer.date,
                precision=answer.precision,
                correct=bool(dated in accept and answer.citations),
                cited_day=_cites_its_day(answer),
                quote=answer.citations[0].quote if answer.citations else None,
                document_date=top[0].published[:10] if top and top[0].published else None,
                llamaindex_date=top_node(row["question"], as_of) if top_node else None,
                ms=round(ms, 1),
                reader=answer.reader,
                quote_checks=answer.quote_checks,
            )
        )
        if progress:
            progress(1)
    anchors = {"document_date": _anchor(results, lambda r: r.document_date)}
    if top_node:
        anchors["llamaindex_top_node"] = _anchor(results, lambda r: r.llamaindex_date)
    p50, p95 = latency_percentiles([r.ms for r in results])
    answered = [r for r in results if r.date]
    quoted, fallbacks = llm_summary([r.quote_checks for r in results])
    return WhenReport(
        questions=len(results),
        date_accuracy=_share(results, lambda r: r.correct),
        by_kind=_by_kind(results, lambda r: r.correct),
        cited_day_rate=round(sum(r.cited_day for r in answered) / len(answered), 3) if answered else 0.0,
        citation_verbatim_rate=quotes.rate,
        timeline=score_timelines(archive, timelines) if timelines else None,
        p50_ms=p50,
        p95_ms=p95,
        anchors=anchors,
        reader=reader,
        llm_answered=_share(results, lambda r: r.reader == "llm"),
        llm_quotes=quoted,
        llm_fallbacks=fallbacks,
        results=results,
    )


def score_timelines(archive: Archive, timelines: list[dict[str, Any]]) -> TimelineReport:
    """Days of each drawn timeline (day-precise events) against its gold days; totals over all."""
    each = []
    hits = predicted_total = gold_total = 0
    for row in timelines:
        gold = sorted({str(e["date"]) for e in row.get("events", [])})
        timeline = archive.timeline(row["query"], as_of=row.get("as_of"))
        predicted = sorted({e.date for e in timeline.events if e.precision == "day"})
        found = len(set(gold) & set(predicted))
        hits += found
        predicted_total += len(predicted)
        gold_total += len(gold)
        each.append(
            TimelineScore(
                id=str(row.get("id", row["query"])),
                gold=gold,
                predicted=predicted,
                precision=round(found / len(predicted), 3) if predicted else 0.0,
                recall=round(found / len(gold), 3) if gold else 0.0,
            )
        )
    precision = hits / predicted_total if predicted_total else 0.0
    recall = hits / gold_total if gold_total else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return TimelineReport(timelines=len(each), precision=round(precision, 3), recall=round(recall, 3), f1=round(f1, 3), each=each)


def _cites_its_day(answer: Answer) -> bool:
    """Whether the first citation's quote states a date that resolves to the answer's day."""
    if not answer.date or not answer.citations:
        return False
    first = answer.citations[0]
    published = dt.date.fromisoformat(first.published[:10]) if first.published else None
    return any(e.date.isoformat() == answer.date and e.precision == answer.precision for e in extract_event_dates(first.quote, published))


def _anchor(results: list[WhenResult], day: Callable[[WhenResult], str | None]) -> AnchorScore:
    def right(r: WhenResult) -> bool:
        return day(r) in r.accept

    return AnchorScore(date_accuracy=_share(results, right), by_kind=_by_kind(results, right))


def _share(results: list[WhenResult], right: Callable[[WhenResult], bool]) -> float:
    return round(sum(right(r) for r in results) / len(results), 3) if results else 0.0


def _by_kind(results: list[WhenResult], right: Callable[[WhenResult], bool]) -> dict[str, float]:
    kinds = [k for k in KINDS if any(r.kind == k for r in results)] + sorted({r.kind for r in results} - set(KINDS))
    return {kind: _share([r for r in results if r.kind == kind], right) for kind in kinds}


def _llamaindex_top_node(archive: Archive) -> Callable[[str, str | None], str | None] | None:
    """LlamaIndex's default retriever (``VectorStoreIndex.as_retriever()``) over the archive's own
    Chroma collection with the same model; what it returns first, by publication day. None
    without the bench extra (llama-index-vector-stores-chroma, llama-index-embeddings-huggingface)."""
    try:
        from llama_index.core import VectorStoreIndex
        from llama_index.core.vector_stores import FilterOperator, MetadataFilter, MetadataFilters
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
        from llama_index.vector_stores.chroma import ChromaVectorStore
    except ImportError:
        return None
    from qa.index import day_number

    embed = HuggingFaceEmbedding(model_name=str(archive.settings.resolved_model_dir()), device="cpu")
    index = VectorStoreIndex.from_vector_store(ChromaVectorStore(chroma_collection=archive.store.passages), embed_model=embed)

    def top(question: str, as_of: str | None) -> str | None:
        filters = None
        if as_of:
            day = day_number(dt.date.fromisoformat(as_of))
            filters = MetadataFilters(filters=[MetadataFilter(key="published_day", value=day, operator=FilterOperator.LTE)])
        nodes = index.as_retriever(filters=filters).retrieve(question)
        published = nodes[0].node.metadata.get("published") if nodes else None
        return str(published)[:10] if published else None

    return top


def table(report: WhenReport) -> str:
    """The report as Markdown: Dateline and the anchors by kind, then timelines and latency."""
    kinds = list(report.by_kind)
    lines = [
        "| system | questions | date accuracy | " + " | ".join(kinds) + " |",
        "|---|---:|---:|" + "---:|" * len(kinds),
        f"| **Dateline** | {report.questions} | **{report.date_accuracy:.3f}** | "
        + " | ".join(f"{report.by_kind[k]:.3f}" for k in kinds)
        + " |",
    ]
    names = {
        "document_date": "publication day of the top search result",
        "llamaindex_top_node": "LlamaIndex default retriever, top node's day",
    }
    for key, anchor in report.anchors.items():
        lines.append(
            f"| {names.get(key, key)} | {report.questions} | {anchor.date_accuracy:.3f} | "
            + " | ".join(f"{anchor.by_kind.get(k, 0.0):.3f}" for k in kinds)
            + " |"
        )
    lines.append("")
    lines.append(
        f"cited_day_rate {report.cited_day_rate:.3f} · citation_verbatim_rate {report.citation_verbatim_rate:.4f} · "
        f"p50 {report.p50_ms:.0f} ms · p95 {report.p95_ms:.0f} ms"
        + (f" · reader llm: {llm_line(report.llm_answered, report.llm_quotes, report.llm_fallbacks)}" if report.reader == "llm" else "")
    )
    if report.timeline:
        t = report.timeline
        lines.append(f"timelines ({t.timelines}): precision {t.precision:.3f} · recall {t.recall:.3f} · F1 {t.f1:.3f}")
    return "\n".join(lines)
