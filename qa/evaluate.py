"""Evaluation on question sets in the RealTime QA format, scored as its README says.

A prediction is correct when an accepted answer, lower-cased with punctuation removed, occurs in
it as whole words. The same function scores Dateline's answers and the LLM baselines, so the
figures compare. Only ``id``, ``question`` and ``as_of`` are read when answering; ``answers`` is
read only to score.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from qa.archive import Archive, Reader
from qa.errors import DatelineError
from qa.models import Answer, Passage, QuoteChecks
from qa.names import strip_accents

RECALL_AT = (1, 5, 10)


def normalize(text: str) -> str:
    """Lower-case, accents and punctuation removed, white space folded.

    >>> normalize("Nicolás  Maduro's!")
    'nicolas maduros'
    """
    text = strip_accents(text).lower()
    text = re.sub(r"['’`]", "", text)
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def matches(prediction: str | None, accepted: list[str]) -> bool:
    """An accepted answer occurs in the prediction as whole words."""
    if not prediction:
        return False
    padded = f" {normalize(prediction)} "
    return any(f" {normalize(a)} " in padded for a in accepted if normalize(a))


class QuestionResult(BaseModel):
    id: str
    question: str
    as_of: str | None
    answers: list[str]
    prediction: str | None
    correct: bool
    recall_rank: int | None = Field(description="1-based rank of the first passage holding an accepted answer")
    ms: float
    #: Who wrote the answer (with ``--reader llm``, "extractive" when the LLM's answer was set aside).
    reader: str = "extractive"
    quote_checks: QuoteChecks | None = None


class BaselineRow(BaseModel):
    model: str
    setting: str
    questions: int
    accuracy: float
    dateline_on_same: float


class EvalReport(BaseModel):
    questions: int
    accuracy: float
    answer_recall_at_1: float = Field(alias="answer_recall@1")
    answer_recall_at_5: float = Field(alias="answer_recall@5")
    answer_recall_at_10: float = Field(alias="answer_recall@10")
    citation_verbatim_rate: float
    p50_ms: float
    p95_ms: float
    as_of: bool
    baselines: list[BaselineRow]
    #: The reader asked for, and the share of answers the LLM wrote with verified citations.
    reader: str = "extractive"
    llm_answered: float = 0.0
    #: With the LLM reader: its quotes over all answers (verbatim, repaired, dropped), and why answers fell back.
    llm_quotes: QuoteChecks | None = None
    llm_fallbacks: dict[str, int] = Field(default_factory=dict)
    results: list[QuestionResult] = Field(default_factory=list, exclude=True)

    model_config = {"populate_by_name": True}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DatelineError(f"{path}:{number}: bad JSON: {exc.msg}") from None
    return rows


class QuoteCheck:
    """Counts the citations whose quote is exactly their article's text at their offsets."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.texts: dict[str, str] = {}
        self.verbatim = self.total = 0

    def add(self, answer: Answer) -> None:
        for citation in answer.citations:
            if citation.article_id not in self.texts:
                article = self.archive.article(citation.article_id)
                self.texts[citation.article_id] = article.text if article else ""
            self.total += 1
            self.verbatim += self.texts[citation.article_id][citation.start : citation.end] == citation.quote

    @property
    def rate(self) -> float:
        return round(self.verbatim / self.total, 4) if self.total else 1.0


def latency_percentiles(milliseconds: list[float]) -> tuple[float, float]:
    """Median and 95th percentile, rounded to 0.1 ms."""
    ordered = sorted(milliseconds) or [0.0]
    return round(statistics.median(ordered), 1), round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1)


def evaluate(
    archive: Archive,
    questions: list[dict[str, Any]],
    baselines: list[dict[str, Any]] | None = None,
    *,
    use_as_of: bool = True,
    progress: Callable[[int], None] | None = None,
    reader: Reader = "extractive",
) -> EvalReport:
    """Ask every question (with its ``as_of`` day unless ``use_as_of`` is off) and score the answers.
    A RealTime QA question is asked on its ``as_of`` day: it reads only what had been published
    by then (``until`` as well as ``as_of``), so no later article can give its answer away."""
    results: list[QuestionResult] = []
    quotes = QuoteCheck(archive)
    for row in questions:
        as_of = row.get("as_of") if use_as_of else None
        started = time.perf_counter()
        steps = list(archive.ask_stream(row["question"], as_of=as_of, until=as_of, k=10, reader=reader))
        ms = (time.perf_counter() - started) * 1000
        answer = steps[-1]
        assert isinstance(answer, Answer)
        passages = [p for p in steps if isinstance(p, Passage)]
        accepted = [str(a) for a in row.get("answers", [])]
        rank = next((i for i, p in enumerate(passages, start=1) if matches(p.text, accepted)), None)
        quotes.add(answer)
        results.append(
            QuestionResult(
                id=str(row["id"]),
                question=row["question"],
                as_of=as_of,
                answers=accepted,
                prediction=answer.answer,
                correct=matches(answer.answer, accepted),
                recall_rank=rank,
                ms=round(ms, 1),
                reader=answer.reader,
                quote_checks=answer.quote_checks,
            )
        )
        if progress:
            progress(1)
    return _report(results, quotes.rate, baselines or [], use_as_of, reader)


def llm_line(answered: float, quotes: QuoteChecks | None, fallbacks: dict[str, int]) -> str:
    """One line on the LLM reader: its share of answers, what became of its quotes, why it fell back."""
    text = f"LLM-written answers {answered:.3f}"
    if quotes:
        text += f"; quotes {quotes.quoted}: {quotes.verbatim} verbatim, {quotes.repaired} repaired, {quotes.dropped} dropped"
    if fallbacks:
        text += "; fell back: " + ", ".join(f"{n} {why}" for why, n in sorted(fallbacks.items(), key=lambda kv: -kv[1]))
    return text


def llm_summary(checks: list[QuoteChecks | None]) -> tuple[QuoteChecks | None, dict[str, int]]:
    """The LLM reader's quotes summed over answers, and how many answers fell back for each reason."""
    seen = [c for c in checks if c is not None]
    if not seen:
        return None, {}
    total = QuoteChecks(
        quoted=sum(c.quoted for c in seen),
        verbatim=sum(c.verbatim for c in seen),
        repaired=sum(c.repaired for c in seen),
        dropped=sum(c.dropped for c in seen),
    )
    fallbacks: dict[str, int] = {}
    for c in seen:
        if c.fallback:
            fallbacks[c.fallback] = fallbacks.get(c.fallback, 0) + 1
    return total, fallbacks


def _report(
    results: list[QuestionResult], verbatim_rate: float, baselines: list[dict[str, Any]], use_as_of: bool, reader: Reader
) -> EvalReport:
    n = max(len(results), 1)
    quoted, fallbacks = llm_summary([r.quote_checks for r in results])
    p50, p95 = latency_percentiles([r.ms for r in results])
    recall = {k: sum(1 for r in results if r.recall_rank and r.recall_rank <= k) / n for k in RECALL_AT}
    by_id = {r.id: r for r in results}
    rows: dict[tuple[str, str], list[bool]] = {}
    ours: dict[tuple[str, str], list[bool]] = {}
    for line in baselines:
        mine = by_id.get(str(line.get("question_id")))
        if mine is None:
            continue
        key = (str(line.get("model")), str(line.get("setting")))
        rows.setdefault(key, []).append(matches(str(line.get("prediction") or ""), mine.answers))
        ours.setdefault(key, []).append(mine.correct)
    table = [
        BaselineRow(
            model=model,
            setting=setting,
            questions=len(scores),
            accuracy=round(sum(scores) / len(scores), 3),
            dateline_on_same=round(sum(ours[(model, setting)]) / len(scores), 3),
        )
        for (model, setting), scores in sorted(rows.items(), key=lambda item: -sum(item[1]) / len(item[1]))
    ]
    return EvalReport(
        questions=len(results),
        accuracy=round(sum(r.correct for r in results) / n, 3),
        answer_recall_at_1=round(recall[1], 3),
        answer_recall_at_5=round(recall[5], 3),
        answer_recall_at_10=round(recall[10], 3),
        citation_verbatim_rate=verbatim_rate,
        p50_ms=p50,
        p95_ms=p95,
        as_of=use_as_of,
        baselines=table,
        results=results,
        reader=reader,
        llm_answered=round(sum(r.reader == "llm" for r in results) / n, 3),
        llm_quotes=quoted,
        llm_fallbacks=fallbacks,
    )


def table(report: EvalReport) -> str:
    """The report as a Markdown table (ours first, then each baseline on its own questions)."""
    lines = [
        "| system | setting | questions | accuracy | Dateline on the same questions |",
        "|---|---|---:|---:|---:|",
        f"| **Dateline** (no LLM) | as-of {'on' if report.as_of else 'off'} | {report.questions} | **{report.accuracy:.3f}** | |",
    ]
    lines += [f"| {r.model} | {r.setting} | {r.questions} | {r.accuracy:.3f} | {r.dateline_on_same:.3f} |" for r in report.baselines]
    lines.append("")
    lines.append(
        f"answer_recall@1 {report.answer_recall_at_1:.3f} · @5 {report.answer_recall_at_5:.3f} · @10 {report.answer_recall_at_10:.3f} · "
        f"citation_verbatim_rate {report.citation_verbatim_rate:.4f} · p50 {report.p50_ms:.0f} ms · p95 {report.p95_ms:.0f} ms"
        + (f" · reader llm: {llm_line(report.llm_answered, report.llm_quotes, report.llm_fallbacks)}" if report.reader == "llm" else "")
    )
    return "\n".join(lines)
