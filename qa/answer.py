"""Answers without an LLM: read the question's time intent, score sentences, cite them verbatim.

A news archive states one event many times, on many days, so "when ... last" is answered from the
time line: every retrieved sentence that is about the question and states a date is a candidate,
and the latest (or earliest) of the relevant ones wins, dated by the event, not by the article.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from qa.chunk import split_sentences
from qa.dates import format_day, month_first, precision_end
from qa.models import Answer, Citation, EventDate, Passage, Precision, Timeline, TimelineEvent
from qa.names import covered_terms, fold_terms, with_compounds
from qa.spans import Span, SpanExtractor

Order = Literal["last", "first"] | None

#: Below this relevance nothing is said to answer the question.
MIN_RELEVANCE = 0.35
#: Sentences this close to the best are all "about the question" when choosing by date.
RELEVANCE_MARGIN = 0.12

_WHEN = re.compile(
    r"^\s*(?:when|since when|(?:on|in|by)?\s*(?:what|which)\s+(?:day|date|year|month|time)|how long ago"
    r"|what\s+(?:was|is|were|are)\s+the\s+(?:exact\s+)?(?:date|day)|(?:the\s+)?date\s+of)\b(?!-)",
    re.I,
)
#: "When does summer begin", "when will the trial start": the date asked for may be after the as-of day.
_FUTURE = re.compile(r"^\s*when\s+(?:does|do|will|is|are|should|must|can)\b", re.I)
_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,40}>")
_LAST = re.compile(r"\b(?:last|latest|most recent(?:ly)?|lately)\b", re.I)
_FIRST = re.compile(r"\b(?:first|earliest|initially)\b", re.I)
_YEAR = re.compile(r"(?:19|20)\d\d")
_YEAR_RANGE = [
    (re.compile(r"\bbetween\s+((?:19|20)\d\d)\s+and\s+((?:19|20)\d\d)\b", re.I), "between"),
    (re.compile(r"\b(?:since|after|from)\s+((?:19|20)\d\d)\b", re.I), "since"),
    (re.compile(r"\b(?:before|until|prior to)\s+((?:19|20)\d\d)\b", re.I), "before"),
    (re.compile(r"\b(?:in|during)\s+((?:19|20)\d\d)\b", re.I), "in"),
]


#: Phrases that place a question's event in the days just before it is asked (its as-of day, else
#: today), and how many days back they reach. "This week" is the week before the question.
_RECENT = [
    (re.compile(r"\b(?:today|tonight|yesterday)\b|^(?:Today|Tonight|Yesterday)\b"), 2),  # not the show "Today"
    (re.compile(r"\b(?:this|past)\s+(?:week|weekend)\b|\bon\s+(?:mon|tues|wednes|thurs|fri|satur|sun)day\b", re.I), 7),
    (re.compile(r"\blast\s+week(?:end)?\b", re.I), 14),
    (re.compile(r"\b(?:this|past)\s+month\b|(?<!most )\brecent(?:ly)?\b|\bcurrently\b", re.I), 31),
]


@dataclass(frozen=True)
class Intent:
    """What a question asks about time."""

    when: bool
    order: Order
    since: dt.date | None
    until: dt.date | None
    #: The event is in the last ``recent_days`` days before the question ("this week": 7).
    recent_days: int | None = None
    #: Asked in the present or future tense ("when does summer begin"): a date after the as-of
    #: day, stated in what was published by then, answers it.
    future: bool = False
    #: Asks when something stopped ("When did the strike end?"): a range answers with its last day.
    ends: bool = False


def read_intent(question: str) -> Intent:
    """
    >>> read_intent("When was Ain al-Asad last hit since 2021?")
    Intent(when=True, order='last', since=datetime.date(2021, 1, 1), until=None, recent_days=None, future=False, ends=False)
    >>> read_intent("When did the 43-day shutdown end?").ends
    True
    >>> [read_intent(q).ends for q in ("When was the strike over?", "When did North Korea fire a missile over Japan?")]
    [True, False]
    >>> read_intent("Which city flooded this week?").recent_days
    7
    >>> read_intent("What was the date of the Butler shooting?").when
    True
    """
    since, until = _year_window(question)
    order: Order = "last" if _LAST.search(question) else "first" if _FIRST.search(question) else None
    recent = next((days for pattern, days in _RECENT if pattern.search(question)), None)
    asked = _asked(question)
    return Intent(
        when=bool(_WHEN.search(asked)) or (order is not None and "when" in question.lower()),
        order=order,
        since=since,
        until=until,
        recent_days=recent,
        future=order is None and bool(_FUTURE.search(asked)),
        ends=bool(_ENDS.search(asked)),
    )


#: Words asking when something stopped. "Over" asks so only where nothing follows it in its clause
#: ("When was the strike over?"), not as a preposition ("a missile over Japan", "resign over the riot").
_ENDS = re.compile(
    r"\b(?:end|ended|ends|conclude[sd]?|finish(?:ed)?|reopen(?:ed)?|lift(?:ed)?|expire[sd]?)\b|\bover\b(?=\s*(?:[?.!,;]|$))", re.I
)


def _year_window(question: str) -> tuple[dt.date | None, dt.date | None]:
    """The days a question's years allow its event: "between 2020 and 2022", "since 2021",
    "before 2020", "in 2023 and 2024"; a year that only qualifies a name ("the 2023 strikes", "the
    43-day shutdown of 2025") places the event in that year, and "after the 2022-2023 cycle" after it.

    >>> _year_window("When did the first of the 2023 Hollywood strikes begin?")
    (datetime.date(2023, 1, 1), datetime.date(2023, 12, 31))
    >>> _year_window("When did SpaceX fly Starship in 2023 and 2024?")
    (datetime.date(2023, 1, 1), datetime.date(2024, 12, 31))
    >>> _year_window("When was the first cut after the 2022-2023 hiking cycle?")
    (datetime.date(2024, 1, 1), None)
    """
    for pattern, kind in _YEAR_RANGE:
        match = pattern.search(question)
        if not match:
            continue
        first = int(match.group(1))
        if kind == "between":
            return dt.date(first, 1, 1), dt.date(int(match.group(2)), 12, 31)
        if kind == "since":
            return dt.date(first + (1 if "after" in match.group(0).lower() else 0), 1, 1), None
        if kind == "before":
            return None, dt.date(first - 1, 12, 31)
        years = [int(y) for y in _YEAR.findall(question[match.start() :])]
        return dt.date(first, 1, 1), dt.date(max(years), 12, 31)
    qualified = _QUALIFYING_YEARS.search(question)
    if not qualified:
        return None, None
    years = [int(y) for y in _YEAR.findall(qualified.group(0))]
    relation = (qualified.group("relation") or "").lower()
    if relation in ("after", "since"):
        return dt.date(max(years) + 1, 1, 1), None
    if relation in ("before", "until"):
        return None, dt.date(min(years) - 1, 12, 31)
    return dt.date(min(years), 1, 1), dt.date(max(years), 12, 31)


#: A year (or span of years) that qualifies a noun, with the word that relates the event to it.
_QUALIFYING_YEARS = re.compile(
    r"(?:\b(?P<relation>after|since|before|until)\s+the\s+)?(?<![\d-])(?:19|20)\d\d(?:\s*[-–]\s*(?:19|20)\d\d)?(?![\d-])", re.I
)


def _asked(question: str) -> str:
    """The sentence that asks, without what comes before it ("Tax season has begun. When is...")
    or a word that only links it ("Finally, when does..."). An abbreviation ends no sentence.

    >>> _asked("When did the Supreme Court overturn Roe v. Wade?")
    'When did the Supreme Court overturn Roe v. Wade?'
    """
    question = question.strip()
    spans = split_sentences(question)
    last = question[spans[-1][0] :] if spans else question
    return re.sub(r"^[A-Za-z]+,\s+", "", last)


def plain_question(text: str) -> str:
    """A question without markup ("when does summer <em>officially</em> begin") or runs of blanks.

    >>> plain_question("When does summer <em>officially</em>  begin?")
    'When does summer officially begin?'
    """
    return " ".join(_TAG.sub("", text).split())


@dataclass
class Sentence:
    """A sentence of a retrieved passage, with how well it answers and the dates it states."""

    passage: Passage
    start: int
    end: int
    text: str
    events: list[EventDate]
    relevance: float = 0.0
    #: Embedding similarity of the sentence alone to the question.
    similarity: float = 0.0
    #: The question's names (proper nouns) are in the sentence, its neighbours or its title.
    names_found: bool = True
    #: Share of the question's terms (weighted by rarity) in the sentence, its neighbours or title.
    coverage: float = 0.0
    #: The parts of ``coverage`` in the sentence itself and only in its neighbours or title (``score_terms``).
    own: float = 0.0
    nearby: float = 0.0

    def citation(self, event: EventDate | None = None) -> Citation:
        p = self.passage
        return Citation(
            **{**p.located(), "start": self.start, "end": self.end},
            quote=self.text,
            event_date=event.date.isoformat() if event else None,
            # Exact copies of the passage hold this sentence at the same distance from their start.
            copies=[
                c.model_copy(update={"start": c.start + self.start - p.start, "end": c.start + self.end - p.start})
                for c in p.copies
                if c.exact
            ],
        )


def sentences_of(passages: list[Passage]) -> list[Sentence]:
    """Each distinct sentence of the passages once (overlapping chunks repeat sentences)."""
    seen: set[tuple[str, int]] = set()
    sentences: list[Sentence] = []
    for passage in passages:
        for start, end in split_sentences(passage.text, offset=passage.start):
            if (passage.article_id, start) in seen:
                continue
            seen.add((passage.article_id, start))
            events = [e for e in passage.events if start <= e.start and e.end <= end]
            text = passage.text[start - passage.start : end - passage.start]
            sentences.append(Sentence(passage, start, end, text, events))
    return sentences


def question_names(question: str) -> set[str]:
    """Folded proper nouns of a question: capitalised words other than the first.

    >>> sorted(question_names("When was Ain al-Asad last hit by ballistic missiles?"))
    ['asad']
    """
    words = re.findall(r"[^\W\d_][\w'’-]*", question)
    capitalised = " ".join(w for w in words[1:] if (w[:1].isupper() and w.upper() != w) or ("-" in w and w.split("-")[-1][:1].isupper()))
    return set(fold_terms(capitalised))


def question_terms(question: str) -> list[str]:
    """The question's folded terms to look for in a text: years set its time window (see
    ``read_intent``), they are not words to match.

    >>> question_terms("Which port closed in 2024?")
    ['port', 'closed']
    """
    return [t for t in fold_terms(question) if not _YEAR.fullmatch(t)]


def score_terms(question: str, sentences: list[Sentence], idf: Callable[[str], float]) -> None:
    """Which of the question's terms and names each sentence holds, itself or in its neighbours and
    title (weighted by rarity). It does not depend on vectors, so it runs once, before
    ``score_sentences`` however many times that rescores the sentences. A sentence whose context
    lacks the question's names is marked, so a report about a different place with the same verbs
    does not pass for an answer."""
    asked = question_terms(question)
    weights = {term: idf(term) for term in asked}
    total = sum(weights.values()) or 1.0
    names = question_names(question)
    folded = [with_compounds(fold_terms(s.text)) for s in sentences]
    titles: dict[str, set[str]] = {}
    passage_terms: dict[str, set[str]] = {}
    for i, sentence in enumerate(sentences):
        article = sentence.passage.article_id
        if article not in titles:
            titles[article] = with_compounds(fold_terms(sentence.passage.title))
        context = titles[article].union(*(folded[j] for j in _neighbours(sentences, i)))
        in_sentence = covered_terms(asked, folded[i])
        in_context = covered_terms(asked, context) - in_sentence
        sentence.own = sum(weights[t] for t in in_sentence) / total
        sentence.nearby = sum(weights[t] for t in in_context) / total
        # A name stated anywhere in the passage (one chunk: one story) places its dated sentences.
        if sentence.passage.chunk_id not in passage_terms:
            passage_terms[sentence.passage.chunk_id] = set(fold_terms(sentence.passage.text))
        sentence.names_found = names <= in_sentence | in_context | folded[i] | context | passage_terms[sentence.passage.chunk_id]
        sentence.coverage = sentence.own + sentence.nearby


def score_sentences(sentences: list[Sentence], similarity: np.ndarray) -> None:
    """Relevance of each sentence to the question, between 0 and about 1, after ``score_terms``.

    Meaning comes from ``similarity``, the cosine of each sentence's vector with the question's (and
    that of its neighbours, since a date and the place it concerns are often one sentence apart);
    terms from the shares ``score_terms`` found.
    """
    for i, sentence in enumerate(sentences):
        context_similarity = max((float(similarity[j]) for j in _neighbours(sentences, i)), default=0.0)
        sentence.similarity = float(similarity[i])
        own, nearby = sentence.own, sentence.nearby
        sentence.relevance = float(0.5 * similarity[i] + 0.15 * max(similarity[i], context_similarity) + 0.25 * own + 0.1 * nearby)


def _neighbours(sentences: list[Sentence], i: int) -> list[int]:
    article = sentences[i].passage.article_id
    return [j for j in (i - 1, i + 1) if 0 <= j < len(sentences) and sentences[j].passage.article_id == article]


#: Sentences (the best by their pooled score) encoded on their own before the final score.
#: `dateline eval` on RealTime QA gave the same accuracy (0.216) with 6, 8 and 12 in one process;
#: 8 encodes a third fewer than 12 and kept one more answer than 6 among "this week" questions.
EXACT_SENTENCES = 8


def exact_shortlist(sentences: list[Sentence], intent: Intent, as_of: dt.date | None, dated: bool) -> list[int]:
    """Which sentences to encode on their own: the best ``EXACT_SENTENCES`` by the pooled score, and,
    when dates decide, every sentence that could be dated as the event.

    A pooled vector has read its whole chunk, so a sentence beside a report of the event scores as
    if it were one ("veterans, speaking this week, recalled..."). Only a sentence's own encoding
    says whether it reports the event itself; that is what dating needs.
    """
    best = sorted(range(len(sentences)), key=lambda i: -sentences[i].relevance)[:EXACT_SENTENCES]
    if dated:
        chosen = set(best)
        best += [
            i
            for i, s in enumerate(sentences)
            if i not in chosen and s.names_found and s.coverage >= MIN_COVERAGE and any(_in_window(e, intent, as_of) for e in s.events)
        ]
    return best


def calibrated_similarity(pooled: np.ndarray, exact: np.ndarray, chosen: list[int]) -> np.ndarray:
    """Own-encoding similarity where it was computed; elsewhere the pooled one, shifted by how much
    pooled exceeded own on the chosen sentences (median), so both are on one scale."""
    similarity = pooled.astype(np.float32, copy=True)
    if chosen:
        similarity -= float(np.median(pooled[chosen] - exact))
        similarity[chosen] = exact
    return similarity


def _in_window(event: EventDate, intent: Intent, as_of: dt.date | None) -> bool:
    last = precision_end(event.date, event.precision)
    if as_of and event.date > as_of and not intent.future:
        return False
    if intent.since and last < intent.since:
        return False
    return not (intent.until and event.date > intent.until)


def _rank_key(event: EventDate, relevance: float, order: Order) -> tuple[float, ...]:
    """Sort key, larger first. A coarse date is placed where it is least extreme: for "last" at
    the start of its month or year, for "first" at its end, so "in January 2020" never beats
    "on 8 January 2020" in either direction; then finer precision wins a tie."""
    finer = {"day": 3, "week": 2, "month": 1, "year": 0}[event.precision]
    if order == "last":
        return (float(event.date.toordinal()), finer, relevance)
    if order == "first":
        return (-float(precision_end(event.date, event.precision).toordinal()), finer, relevance)
    return (relevance, finer, float(event.date.toordinal()))


#: A date-bearing sentence must itself be about the question at least this much...
MIN_SIMILARITY = 0.3
#: ...and hold at least this share of the question's terms (with its neighbours and title).
MIN_COVERAGE = 0.5
#: Reports of one event within this many days are the same event, dated by consensus.
SAME_EVENT_DAYS = 3


def reports_event(sentence: Sentence) -> bool:
    """Whether a sentence reports what the question asks about, enough to date it by its dates."""
    return sentence.names_found and sentence.similarity >= MIN_SIMILARITY and sentence.coverage >= MIN_COVERAGE


def dated_candidates(sentences: list[Sentence], intent: Intent, as_of: dt.date | None) -> list[tuple[Sentence, EventDate]]:
    """Sentences that report the question's event with a date in its window, first by the question's order.

    For "last" and "first" every reporting sentence counts, however it is worded, and the date
    decides. Dates a few days apart are grouped as one event, dated by the day most of its
    reports state (weighted by relevance): an article that mentions photographs taken the day
    after a strike does not move the strike.
    """
    pairs = [(s, e) for s in sentences if reports_event(s) for e in s.events if _in_window(e, intent, as_of)]
    if not pairs or max(s.relevance for s, _ in pairs) < MIN_RELEVANCE:
        return []
    events = _consensus(pairs)
    return sorted(events, key=lambda pair: _rank_key(pair[1], pair[0].relevance, intent.order), reverse=True)


def _consensus(pairs: list[tuple[Sentence, EventDate]]) -> list[tuple[Sentence, EventDate]]:
    """Keep, in each run of day-precise dates no more than ``SAME_EVENT_DAYS`` apart, the best-supported day."""
    days = sorted((p for p in pairs if p[1].precision == "day"), key=lambda p: p[1].date)
    kept = [p for p in pairs if p[1].precision != "day"]
    group: list[tuple[Sentence, EventDate]] = []
    for pair in [*days, None]:  # type: ignore[list-item]
        if group and (pair is None or (pair[1].date - group[-1][1].date).days > SAME_EVENT_DAYS):
            support: dict[dt.date, float] = {}
            for sentence, event in group:
                support[event.date] = support.get(event.date, 0.0) + sentence.relevance
            winner = max(support, key=lambda day: support[day])
            kept += [p for p in group if p[1].date == winner]
            group = []
        if pair is not None:
            group.append(pair)
    return kept


def compose_answer(
    question: str,
    sentences: list[Sentence],
    intent: Intent,
    as_of: dt.date | None,
    max_citations: int = 5,
    spans: SpanExtractor | None = None,
    specificity: Callable[[str], float] | None = None,
    similarity: Callable[[str, list[str]], list[float]] | None = None,
) -> Answer:
    """The answer and its citations from scored sentences."""
    if intent.when:
        candidates = dated_candidates(sentences, intent, as_of)
        if candidates:
            chosen, event = candidates[0]
            same_day = [(s, e) for s, e in candidates[1:] if e.date == event.date and e.precision == event.precision]
            others = sorted((s for s in sentences if s is not chosen), key=lambda s: -s.relevance)
            citations = [chosen.citation(event)] + [s.citation(e) for s, e in same_day]
            citations += [s.citation() for s in others if reports_event(s) and s.relevance >= MIN_RELEVANCE and not _cited(s, citations)]
            return dated_answer(question, event.date, event.precision, event.text, chosen.relevance, _dedupe(citations)[:max_citations])
    ranked = sorted(sentences, key=lambda s: -s.relevance)
    if not ranked or ranked[0].relevance < MIN_RELEVANCE:
        return Answer(question=question, answer=None, message="Nothing in the archive answers this question.")
    best = ranked[0]
    supporting = [s for s in ranked if s.relevance >= max(MIN_RELEVANCE, best.relevance - RELEVANCE_MARGIN)]
    message = "No passage states a date for this; the closest statements are cited." if intent.when else ""
    span = _short_answer(question, ranked[:SPAN_SENTENCES], spans, specificity, similarity) if spans else None
    if span is not None:
        source = ranked[span.sentence_index]
        citations = [source.citation()] + [s.citation() for s in supporting if s is not source]
        return Answer(question=question, answer=span.text, confidence=confidence(source.relevance), citations=citations[:max_citations])
    citations = [s.citation() for s in supporting]
    return Answer(
        question=question, answer=best.text, confidence=confidence(best.relevance), citations=citations[:max_citations], message=message
    )


#: Sentences, best first, that short-answer extraction reads.
SPAN_SENTENCES = 8


#: How fast a sentence's vote for a short answer fades as its relevance falls below the best one's.
#: `dateline eval` on RealTime QA (2026-11-25): 0.1 0.262, 0.12 and 0.15 0.266, 0.2 0.259, 0.3 0.252;
#: 0.15 gained two answers over 0.2, both among the odd rows, the even rows unchanged.
SPAN_TEMPERATURE = 0.15


def _short_answer(
    question: str,
    ranked: list[Sentence],
    spans: SpanExtractor,
    specificity: Callable[[str], float] | None = None,
    similarity: Callable[[str, list[str]], list[float]] | None = None,
) -> Span | None:
    """Candidates are voted on across the top sentences; each sentence votes with weight
    exp((relevance - best) / SPAN_TEMPERATURE), so agreement counts among sentences about as
    relevant as the best, and a number repeated in weaker ones ("two drones", "two years") does
    not outvote the one the best sentence states."""
    wanted = spans.answer_type(question)
    pool = [s for s in ranked if s.relevance >= MIN_RELEVANCE]
    if not wanted.extractive or not pool:
        return None
    best = pool[0].relevance
    weighted = [(s.text, math.exp((s.relevance - best) / SPAN_TEMPERATURE)) for s in pool]
    return spans.best_span(question, weighted, wanted, specificity, similarity)


def build_timeline(query: str, sentences: list[Sentence], intent: Intent, as_of: dt.date | None) -> Timeline:
    """Dated events about ``query``, oldest first; one event per day and precision, with every citation.

    A coarse date ("in January 2020") that contains exactly one finer event of the timeline is
    the same report at a lower precision, and is merged into that event.
    """
    candidates = dated_candidates(sentences, intent, as_of)
    groups: dict[tuple[dt.date, Precision], list[tuple[Sentence, EventDate]]] = {}
    for sentence, event in candidates:
        groups.setdefault((event.date, event.precision), []).append((sentence, event))
    order = {"day": 0, "week": 1, "month": 2, "year": 3}
    for key in sorted(groups, key=lambda k: order[k[1]]):
        if key[1] == "day":
            continue
        last = precision_end(*key)
        inside = [k for k in groups if k != key and order[k[1]] < order[key[1]] and key[0] <= k[0] <= last]
        if len(inside) == 1:
            groups[inside[0]] += groups.pop(key)
    events = []
    for (day, precision), members in sorted(groups.items(), key=lambda item: (item[0][0], order[item[0][1]])):
        members.sort(key=lambda pair: (pair[1].precision != precision, -pair[0].relevance))
        citations = _dedupe([s.citation(e) for s, e in members])
        top = members[0][0]
        events.append(
            TimelineEvent(date=day.isoformat(), precision=precision, quote=top.text, score=round(top.relevance, 4), citations=citations)
        )
    return Timeline(query=query, events=events)


def _cited(sentence: Sentence, citations: list[Citation]) -> bool:
    return any(c.article_id == sentence.passage.article_id and c.start == sentence.start for c in citations)


def _dedupe(citations: list[Citation]) -> list[Citation]:
    seen: set[tuple[str, int]] = set()
    kept = []
    for citation in citations:
        if (citation.article_id, citation.start) not in seen:
            seen.add((citation.article_id, citation.start))
            kept.append(citation)
    return kept


def dated_answer(
    question: str, day: dt.date, precision: Precision, written: str, relevance: float, citations: list[Citation], message: str = ""
) -> Answer:
    """An answer that is a date: ``day`` at ``precision``, shown in the order its source writes it (``written``)."""
    return Answer(
        question=question,
        answer=format_day(day, precision, month_first(written)),
        date=day.isoformat(),
        precision=precision,
        confidence=confidence(relevance),
        citations=citations,
        message=message,
    )


def confidence(relevance: float) -> float:
    """How sure an answer of this relevance is, from 0.3 (at ``MIN_RELEVANCE``) up to 1."""
    return round(float(np.clip((relevance - MIN_RELEVANCE) / (1.0 - MIN_RELEVANCE) * 0.7 + 0.3, 0.0, 1.0)), 3)
