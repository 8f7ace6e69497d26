"""An optional LLM reader, any OpenAI-compatible endpoint, whose citations are verified.

The extractive answer is always made first. The LLM then gets the question, its as-of day, the
dated events found and the numbered passages (source and publication day), and must reply with
JSON: its answer, the day it gives (if any), and for each claim the passage number and the exact
words it relies on. Every quote is checked against the article's text: found verbatim, it keeps
its offsets; otherwise the passage's sentence (or two) most like it replaces it when they match
closely enough (``FUZZY_MATCH``), else it is dropped. A date is kept only when a cited sentence
states it; a cited sentence stating another day corrects it. An answer left without a verified
citation, and every failure of the endpoint (unreachable, timeout, refusal, malformed reply), gives
the extractive answer back with a message saying why.

Configure with ``DATELINE_LLM_URL`` (base URL, e.g. ``http://localhost:11434/v1``),
``DATELINE_LLM_MODEL`` and ``DATELINE_LLM_API_KEY``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from qa.chunk import split_sentences
from qa.dates import extract_event_dates
from qa.models import Answer, Citation, Passage, QuoteChecks, TimelineEvent

#: How alike a quote and a passage's sentence must be (difflib ratio on folded words) to stand for it.
FUZZY_MATCH = 0.85
#: Passages the LLM reads (the best first), and characters of each: a prompt of about 2,500
#: tokens, which a small local model reads in seconds and any 4k context holds.
LLM_PASSAGES = 8
PASSAGE_CHARS = 1_200
REFUSAL = re.compile(
    r"^\W*(?:(?:i'?m|i am)\s+(?:sorry|unable|not able)|sorry\b|i\s+(?:cannot|can't|can ?not|won't|will not|am unable)|as an ai\b)",
    re.IGNORECASE,
)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "date": {"type": ["string", "null"], "description": "YYYY-MM-DD, the day the answer gives, or null"},
        "citations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"passage": {"type": "integer"}, "quote": {"type": "string"}},
                "required": ["passage", "quote"],
            },
        },
    },
    "required": ["answer", "citations"],
}

SYSTEM = (
    "You answer questions about the news from the numbered passages given, and from nothing else. "
    'Reply with one JSON object: {"answer": short answer, "date": "YYYY-MM-DD" or null, '
    '"citations": [{"passage": number, "quote": exact words copied from that passage}]}. '
    "Every claim needs a citation whose quote is copied word for word. For a question about when "
    "something happened, give the day of the event (not the day an article was published); for "
    "'last' the latest occurrence, for 'first' the earliest. If the passages do not answer, say so "
    "in answer and give no citations."
)


class Token(BaseModel):
    """A piece of the LLM's reply as it streams (before verification)."""

    text: str


class LLMFailure(Exception):
    """Why the endpoint gave no usable reply; the message is shown to the user, ``kind`` counted
    (unreachable, timeout, http error, declined, empty, malformed)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class LLMReader:
    """Talks to one OpenAI-compatible endpoint."""

    url: str
    model: str
    api_key: str = ""
    timeout: float = 60.0
    max_tokens: int = 512

    def chat(self, messages: list[dict[str, str]], on_token: Callable[[str], None] | None = None) -> str:
        """The reply's text, streamed to ``on_token`` as it comes; raises ``LLMFailure``."""
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": 0, "max_tokens": self.max_tokens, "stream": True}
        formats = [
            {"type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA}},
            {"type": "json_object", "schema": SCHEMA},
            None,
        ]
        endpoint = self.url.rstrip("/") + "/chat/completions"
        try:
            with httpx.Client(timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0))) as client:
                for response_format in formats:  # structured output where the server supports it
                    request = {**body, **({"response_format": response_format} if response_format else {})}
                    with client.stream("POST", endpoint, json=request, headers=headers) as response:
                        if response.status_code != 200:
                            response.read()
                            # A server that does not take this format says so (llama.cpp's Python server with a 500).
                            if response_format is not None and (response.status_code in (400, 422) or "response_format" in response.text):
                                continue
                            raise LLMFailure(f"the LLM endpoint answered HTTP {response.status_code}: {response.text[:200]}", "http error")
                        return _read_stream(response.iter_lines(), on_token)
        except httpx.TimeoutException:
            raise LLMFailure(f"the LLM endpoint gave no answer within {self.timeout:g} s", "timeout") from None
        except httpx.HTTPError as exc:
            raise LLMFailure(f"the LLM endpoint cannot be reached ({exc})", "unreachable") from None
        raise LLMFailure("the LLM endpoint refused every request format", "http error")


def _read_stream(lines: Iterator[str], on_token: Callable[[str], None] | None) -> str:
    """The text of an OpenAI-style stream of ``data:`` lines (or of one plain JSON completion)."""
    parts: list[str] = []
    plain: list[str] = []
    for line in lines:
        if not line.startswith("data:"):
            plain.append(line)
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            choice = json.loads(data)["choices"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            continue
        piece = (choice.get("delta") or {}).get("content") or (choice.get("message") or {}).get("content") or ""
        if piece:
            parts.append(piece)
            if on_token:
                on_token(piece)
    if not parts and plain:  # a server that ignored "stream": one JSON completion
        try:
            text = json.loads("\n".join(plain))["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMFailure("the LLM endpoint's reply is not an OpenAI chat completion", "malformed") from None
        if on_token and text:
            on_token(text)
        return text
    return "".join(parts)


def messages_for(question: str, as_of: dt.date | None, passages: list[Passage], events: list[TimelineEvent]) -> list[dict[str, str]]:
    lines = [f"Question: {question}", f"As of: {as_of.isoformat() if as_of else 'today'}"]
    if events:
        lines.append("Dated events found in the archive (day: what a report says):")
        lines += [f"- {e.date}: {e.quote}" for e in events[:12]]
    lines.append("Passages:")
    for number, passage in enumerate(passages[:LLM_PASSAGES], start=1):
        lines.append(f"[{number}] {passage.source or 'unknown source'}, published {passage.published or 'unknown'}: {passage.title}")
        lines.append(passage.text[:PASSAGE_CHARS])
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


def parse_reply(text: str) -> dict[str, Any]:
    """The JSON object in a reply (a code fence or words around it are tolerated); raises ``LLMFailure``."""
    stripped = text.strip()
    if not stripped:
        raise LLMFailure("the LLM gave an empty reply", "empty")
    if REFUSAL.match(stripped):
        raise LLMFailure(f"the LLM declined: {stripped[:160]}", "declined")
    start, end = stripped.find("{"), stripped.rfind("}")
    try:
        reply = json.loads(stripped[start : end + 1]) if start >= 0 < end else None
    except ValueError:
        reply = None
    if not isinstance(reply, dict) or not isinstance(reply.get("answer"), str):
        raise LLMFailure(f"the LLM's reply is not the JSON asked for: {stripped[:160]}", "malformed")
    return reply


def _fold(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def locate(quote: str, passage: Passage) -> tuple[int, int] | None:
    """The quote's offsets in the article: verbatim in the passage, else the passage's sentence or
    pair of sentences most like it, if alike enough; None when neither."""
    found = _locate(quote, passage)
    return found[:2] if found else None


def _locate(quote: str, passage: Passage) -> tuple[int, int, bool] | None:
    """``locate`` and whether the quote was verbatim."""
    quote = quote.strip().strip("\"“”'")
    if not quote:
        return None
    at = passage.text.find(quote)
    if at >= 0:
        return passage.start + at, passage.start + at + len(quote), True
    spans = split_sentences(passage.text)
    windows = spans + [(a[0], b[1]) for a, b in itertools.pairwise(spans)]
    wanted = _fold(quote)
    best, best_ratio = None, 0.0
    for start, end in windows:
        ratio = difflib.SequenceMatcher(None, wanted, _fold(passage.text[start:end]), autojunk=False).ratio()
        if ratio > best_ratio:
            best, best_ratio = (start, end), ratio
    if best is None or best_ratio < FUZZY_MATCH:
        return None
    return passage.start + best[0], passage.start + best[1], False


def verified_answer(question: str, reply: dict[str, Any], passages: list[Passage], fallback: Answer) -> Answer:
    """The LLM's answer with only the citations found in the sources, its date checked against them;
    the extractive ``fallback`` (with a message) when no citation survives."""
    citations: list[Citation] = []
    stated: list[str] = []
    checks = QuoteChecks()
    for item in reply.get("citations") or []:
        checks.quoted += 1
        number = item.get("passage") if isinstance(item, dict) else None
        found = None
        if isinstance(number, int) and 1 <= number <= min(len(passages), LLM_PASSAGES) and isinstance(item.get("quote"), str):
            found = _locate(item["quote"], passages[number - 1])
        if found is None:
            checks.dropped += 1
            continue
        passage = passages[number - 1]
        start, end, verbatim = found
        checks.verbatim += verbatim
        checks.repaired += not verbatim
        text = passage.text[start - passage.start : end - passage.start]
        published = dt.date.fromisoformat(passage.published[:10]) if passage.published else None
        days = [e for e in extract_event_dates(text, published) if e.precision == "day"]
        if any(c.article_id == passage.article_id and c.start == start for c in citations):
            continue
        citations.append(
            Citation(**{**passage.located(), "start": start, "end": end}, quote=text, event_date=days[0].date.isoformat() if days else None)
        )
        stated += [e.date.isoformat() for e in days]
    if not citations:
        note = "The LLM's answer was set aside: none of its quotes was found in the sources. This is the extractive answer."
        checks.fallback = "no verified quote"
        return extractive_instead(fallback, note, checks)
    date = reply.get("date") if isinstance(reply.get("date"), str) else None
    message = ""
    if date and date not in stated:
        if stated:
            message = f"The LLM gave {date}; the cited sentence states {stated[0]}, which is used."
            date = stated[0]
        else:
            message = f"The LLM gave {date}, which no cited sentence states; the date is left out."
            date = None
    elif not date and stated and fallback.date in stated:
        date = fallback.date
    return Answer(
        question=question,
        answer=reply["answer"].strip() or None,
        date=date,
        precision="day" if date else None,
        confidence=fallback.confidence,
        citations=citations,
        message=_join("Answered by the LLM; every quote checked against its article.", message),
        reader="llm",
        quote_checks=checks,
    )


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def extractive_instead(answer: Answer, note: str, checks: QuoteChecks) -> Answer:
    """The extractive ``answer`` given in the LLM's place: ``note`` says why, ``checks`` what was checked."""
    return answer.model_copy(update={"message": _join(answer.message, note), "quote_checks": checks})


def llm_answer(
    reader: LLMReader,
    question: str,
    as_of: dt.date | None,
    passages: list[Passage],
    events: list[TimelineEvent],
    fallback: Answer,
    on_token: Callable[[str], None] | None = None,
) -> Answer:
    """The LLM's verified answer, or ``fallback`` with the reason it was not used."""
    if not passages:
        return fallback
    try:
        reply = parse_reply(reader.chat(messages_for(question, as_of, passages, events), on_token))
    except LLMFailure as exc:
        note = f"LLM reader unavailable: {str(exc).rstrip('.')}. This is the extractive answer."
        return extractive_instead(fallback, note, QuoteChecks(fallback=exc.kind))
    return verified_answer(question, reply, passages, fallback)
