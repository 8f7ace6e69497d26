"""Answering from the event index: which records report the question's event, how they group
into occurrences, and which occurrence answers "when", "first", "last" or "as of", or is drawn
on a timeline. See docs/when.md for what was measured.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qa.answer import dated_answer, question_names, question_terms
from qa.dates import precision_end
from qa.events import CARRIED, COUNTED, PRECISIONS, STATED, EventIndex, EventRecord
from qa.governs import (
    ORDINAL,
    Description,
    described,
    numbered,
    question_description,
    question_parties,
    question_verb,
    read_dates,
    same_parties,
)
from qa.models import Answer, Citation, Copy, Located, Precision, Timeline, TimelineEvent
from qa.names import compatible_names, covered_terms, fold_word, stem_key, with_compounds

# ---- scoring records against a question --------------------------------------------------------


@dataclass
class ScoredRecord:
    record: EventRecord
    similarity: float
    coverage: float
    own: float
    relevance: float
    #: How well the record's date belongs to the event words of its sentence (1: right beside them).
    placement: float = 1.0
    #: Whether its date is written in a clause of a verb the question does not name
    #: (``_subordinate_verb``): it counts for the event, not for the event's day.
    other_verb: bool = False
    #: Whether its sentence can report that the event happened (``reports_it_happened``).
    happened: bool = True
    #: Whether its date belongs to one of the question's words in the parse of its sentence (``qa.governs``).
    governed: bool = False
    #: Whether it counts towards its group's support (``_weigh_ends``: a report that names no end
    #: does not, when the question asks when something ended).
    supports: bool = True


def score_records(
    index: EventIndex,
    rows: np.ndarray,
    question: str,
    terms: list[str],
    vector: np.ndarray,
    idf: Callable[[str], float],
    names: set[str],
    exact: Callable[[list[str]], np.ndarray] | None = None,
    order: str | None = None,
    stored: Callable[[list[str]], dict[str, float]] | None = None,
    governed: bool = True,
    ends: bool = False,
    prune: bool = True,
) -> list[ScoredRecord]:
    """Relevance of each candidate record to the question: the meaning of its event sentence, the
    share of the question's terms (by rarity) in the sentence and in its context, and how close
    its date is written to the words that name the event.

    The meaning is the sentence's pooled vector (read in its chunk), blended with its own encoding
    where there is one: ``stored`` gives the similarities of sentences encoded at ingest
    (``qa.event_vectors``), and ``exact`` encodes the best few of each day that lack one.

    With ``prune``, records that cannot reach ``group_events``' floor (``MIN_RECORD``, and
    ``RECORD_MARGIN`` below the best record) are left out: the rest of a record's reading (where
    its date stands, whether it plans or reports, whose statement it is) is done best first and
    stops at the first record whose relevance cannot reach the floor, whatever that reading. The
    groups are the same (``ends``: a question about an end, whose reports ``_weigh_ends`` lowers
    after, is not pruned)."""
    weights = {t: idf(t) for t in terms}
    total = sum(weights.values()) or 1.0
    name_weight = sum(idf(n) for n in names)
    keys = {t: stem_key(t) for t in [*terms, *names]}
    question_keys = set(keys.values())
    scored = []
    if names:
        rows = rows[_name_weights(index, rows, sorted(names), keys, idf) >= NAME_SHARE * name_weight]
    similarity = index.vectors[rows] @ vector if len(rows) and index.vectors.shape[1] == len(vector) else np.zeros(len(rows))
    for row, sim in zip(rows.tolist(), similarity.tolist(), strict=True):
        record = index.record(row)
        if names and not compatible_names(question, record.quote + " " + record.title):
            continue
        in_sentence = _covered(terms, keys, with_compounds(index.sentence_terms[row].split()))
        in_context = _covered(terms, keys, with_compounds(index.contexts[row].split()))
        own = sum(weights[t] for t in in_sentence) / total
        coverage = sum(weights[t] for t in in_context | in_sentence) / total
        scored.append(ScoredRecord(record, float(sim), coverage, own, 0.0))
    if governed:
        _mark_governed(scored, question_keys, question)
    if scored and (exact is not None or stored is not None):
        own_similarity = stored(list(dict.fromkeys(item.record.sentence for item in scored))) if stored is not None else {}
        if exact is not None:
            sentences = [s for s in _exact_shortlist(scored) if s not in own_similarity]
            if sentences:
                own_similarity.update(zip(sentences, exact(sentences).tolist(), strict=True))
        for item in scored:
            if item.record.sentence in own_similarity:
                item.similarity = POOLED_SHARE * item.similarity + (1 - POOLED_SHARE) * float(own_similarity[item.record.sentence])
    event_keys = {keys[t] for t in ([t for t in terms if t not in names] or terms)}
    past = bool(_PAST_QUESTION.search(question))
    unsaid = _SAYING.search(question) is None
    best = -math.inf
    read: set[int] = set()
    for item in sorted(scored, key=lambda item: -_highest_relevance(item, order)):
        if prune and not ends and _highest_relevance(item, order) < max(MIN_RECORD, best - RECORD_MARGIN):
            break
        _read_record(item, event_keys, question_keys, past, unsaid, order)
        best = max(best, item.relevance)
        read.add(id(item))
    return [item for item in scored if id(item) in read]


def _name_weights(index: EventIndex, rows: np.ndarray, names: list[str], keys: dict[str, str], idf: Callable[[str], float]) -> np.ndarray:
    """For each of ``rows``, the weight (by rarity) of the question's names its context holds, as
    ``_covered`` counts them, read from the index's postings (a context holds its sentence's terms)."""

    def holding(term: str) -> np.ndarray:
        return np.isin(rows, index.postings.get(term, np.zeros(0, dtype=np.int32)))

    name_keys = [keys[name] for name in names]
    found = {key: holding(key) for key in name_keys}
    for a, b in itertools.pairwise(name_keys):  # "air base" written "airbase"
        joined = holding(a + b)
        found[a] = found[a] | joined
        found[b] = found[b] | joined
    weights = np.zeros(len(rows))
    for name in names:
        weights += idf(name) * found[keys[name]]
    return weights


def _relevance_base(item: ScoredRecord) -> float:
    return 0.5 * item.similarity + 0.25 * item.own + 0.25 * item.coverage


def _highest_relevance(item: ScoredRecord, order: str | None) -> float:
    """The most relevance ``_read_record`` can give the record: every other factor is at most 1."""
    gain = (1 + GOVERNED_GAIN if item.governed else 1.0) * (1 + FIRST_GAIN if order == "first" else 1.0)
    return gain * _relevance_base(item)


def _read_record(item: ScoredRecord, event_keys: set[str], question_keys: set[str], past: bool, unsaid: bool, order: str | None) -> None:
    """Where the record's date stands to the event's words, whether it reports or plans, whose
    statement it dates, which event it names; and from those and the rest its relevance."""
    record = item.record
    item.placement = _placement(record, event_keys)
    item.happened = reports_it_happened(record.sentence)
    if past and not item.happened:
        item.placement *= PLANNED_WEIGHT
    if unsaid and _attributed(record):
        item.placement *= SAID_WEIGHT
    verb = _subordinate_verb(record)
    item.other_verb = verb is not None and stem_key(fold_word(verb)) not in question_keys
    named = _named_by_date(record)
    if named and not any(stem_key(fold_word(word)) in question_keys for word in named):
        item.other_verb = True
        item.placement *= OTHER_EVENT_WEIGHT
    damp = 1.0 if record.how == STATED else CARRIED_WEIGHT
    if item.governed:
        damp *= 1 + GOVERNED_GAIN
    placement = 1 - (1 - item.placement) * PLACEMENT_SHARE
    if order != "first" and _looking_back(record):  # a first occurrence is mostly told looking back
        damp *= 1 - LOOK_BACK_LOSS
    if order == "first" and _FIRST_WORDS.search(record.sentence) and not _FIRST_SINCE.search(record.sentence):
        damp *= 1 + FIRST_GAIN
    item.relevance = damp * placement * _relevance_base(item)


#: A record's sentence, neighbours and title must hold this share of the question's names (by rarity):
#: "Slovakia's prime minister Robert Fico" is the one "Slovak Prime Minister Robert Fico" means.
NAME_SHARE = 0.5
#: Records whose sentence is encoded on its own before the final score: the best few of each day.
EXACT_RECORDS = 16
EXACT_PER_DAY = 1
#: Their similarity is this share the pooled one (the sentence read in its chunk), the rest their own.
POOLED_SHARE = 0.25
#: A date stated more than ``LOOK_BACK_DAYS`` after it (an anniversary piece, a look back) is weaker
#: evidence of the day than reporting near it: its relevance loses this share. Measured neutral on
#: the when set's accuracy (0.1 to 0.2 after 365 days; 0.1 after 30 days cost a "first" answer).
LOOK_BACK_DAYS = 365
LOOK_BACK_LOSS = 0.2
#: A date carried from a neighbour or counted from a date nearby is less sure than one stated.
CARRIED_WEIGHT = 0.92
#: A date this many words or more from the words that name the event counts ``1 - PLACEMENT_LOSS``
#: (``PLACEMENT_SHARE`` of that loss is applied to the relevance).
PLACEMENT_WORDS = 20
PLACEMENT_LOSS = 0.3
PLACEMENT_SHARE = 0.5
#: A sentence that plans or expects an event ("is set to launch", "will") answers a question about
#: what happened ("when did...") less surely than one that reports it.
PLANNED_WEIGHT = 0.9
#: A report that itself calls the occurrence the first ("released a first group of hostages on
#: Nov. 24", "the first crew to fly aboard the Starliner on June 5") answers a question asking
#: for the first: its relevance gains this share. Not so for "the last" or "the latest": that
#: was true only when it was written.
FIRST_GAIN = 0.15
_FIRST_WORDS = re.compile(r"\b(?:first|maiden|inaugural|debut)\b", re.I)
#: "for the first time in two years", "the first since 2020": a return, not a first occurrence.
_FIRST_SINCE = re.compile(
    r"\bfirst\b[^.;]{0,40}?\b(?:in|since)\s+(?:(?:more|almost|nearly|over|than|a|an|\w+)\s+){0,3}(?:years?|months?|weeks?|decades?|days?|(?:19|20)\d\d)\b",
    re.I,
)
_PAST_QUESTION = re.compile(r"^\s*(?:when|on what day|what day|which day)\s+(?:did|was|were|had)\b", re.I)
#: A planned or proposed day is no occurrence ("its planned Sept. 16 event", "proposed four dates
#: for a debate: Sept. 17, Sept. 24, Oct. 1"): on a fresh index of the when set those two drew a
#: debate that never took place (time lines' precision 0.941 -> 1.0, the same answers).
_PLANNED = re.compile(
    r"\b(?:will|would|is\s+set\s+to|are\s+set\s+to|is\s+scheduled|are\s+scheduled|is\s+expected\s+to|are\s+expected\s+to|"
    r"plans?\s+to|planned|proposed|preparing|could|(?-i:may)|might|set\s+for|slated|ahead\s+of)\b",
    re.I,
)
#: Nor does one that says it did not happen ("held its key rate steady", "would avert a shutdown",
#: "the launch was scrubbed") or asks ("Will the Fed cut rates this week?"). On the when set: the
#: same answers, timeline precision 0.889 -> 0.941 (a meeting that held rates no longer drawn).
_NOT_HAPPENED = re.compile(
    r"\?\s*$|\b(?:unchanged|steady|paused?|held\s+off|no\s+further|avert(?:ed|s|ing)?|avoid(?:ed|s|ing)?|postponed?|called\s+off|delayed|scrubbed)\b",
    re.I,
)
_WORDS = re.compile(r"[^\W_]+")
#: A date written beside a verb of saying ("officials said on Monday", "said Monday") is the day
#: something was said, not the day of the event reported; unless saying is what the question asks about.
SAID_WEIGHT = 0.85
_SAYING = re.compile(r"\b(?:said|says|say|told|tells|announced?|announces|reported|reports|confirmed|stated|added|wrote)\b", re.I)
_SAID_BEFORE = re.compile(_SAYING.pattern + r"\s+(?:on\s+|late\s+|early\s+)?$", re.I)
_SAID_AFTER = re.compile(r"^,?\s+" + _SAYING.pattern, re.I)


#: "on Sept. 17 announced a quarter-point cut": a verb of announcing with an object is the act itself,
#: not a statement about it ("said" never takes one).
_ACT_OBJECT = re.compile(r"^\s+(?:a|an|its|their|his|her|the)\b", re.I)
_ONLY_SAYING = re.compile(r"\b(?:said|says|say|told|tells)\b", re.I)


def reports_it_happened(sentence: str) -> bool:
    """Whether a sentence can report that something happened: not when it plans or expects it
    ("is set to launch"), says it did not happen ("held rates steady") or asks ("Will the Fed cut?")."""
    return not (_PLANNED.search(sentence) or _NOT_HAPPENED.search(sentence))


def _attributed(record: EventRecord) -> bool:
    """Whether the record's date is that of a statement: "said on Monday", "on Monday said"."""
    if record.date_start < 0:
        return False
    at, end = record.date_in_sentence
    if _SAID_BEFORE.search(record.sentence[max(0, at - 20) : at]):
        return True
    after = _SAID_AFTER.search(record.sentence[end : end + 20])
    if after is None:
        return False
    acting = not _ONLY_SAYING.search(after.group(0)) and _ACT_OBJECT.match(record.sentence[end + after.end() : end + after.end() + 10])
    return not acting


def _looking_back(record: EventRecord) -> bool:
    return record.published is not None and (record.published - record.day).days > LOOK_BACK_DAYS


_SUBORDINATE = re.compile(
    r"\b(?:before|after|while|since|until)\s+(?:(?:being|having|getting)\s+(?:been\s+)?(\w+)|(\w+ing))\b[^,;:]*$", re.I
)


def _subordinate_verb(record: EventRecord) -> str | None:
    """The verb of a "before/after ...ing" clause the record's date is written in ("declared martial
    law before reversing the move early Wednesday": Wednesday is the reversal's). Lowering such a
    record's relevance instead of its vote measured worse (0.5: the same answers; 0.7 gained one
    question, 0.65 and 0.8 none)."""
    if record.date_start < 0:
        return None
    at = record.date_in_sentence[0]
    match = _SUBORDINATE.search(record.sentence[max(0, at - 60) : at])
    return (match.group(1) or match.group(2)) if match else None


#: A date written as the name of another event than the question's ("hostages taken during its
#: Oct. 7 attack" for a question about their release) dates that event: the record counts this much.
OTHER_EVENT_WEIGHT = 0.7
_DETERMINER_BEFORE = re.compile(r"\b(?:the|its|his|her|their|this|that|a|an|year's)\s+$", re.I)
#: A time of day after a date ("the Tuesday night") is part of the date, not an event it names.
_TIME_OF_DAY = re.compile(r"^(?:morning|afternoon|evening|night|midnight|noon|overnight|local|time)$", re.I)
_NAMED_AFTER = re.compile(r"^(?:,?\s*(?:19|20)\d\d)?,?\s+((?:[^\W\d_][\w-]*\s+){0,2}[^\W\d_][\w-]*)")
_NOT_NOUN = re.compile(
    r"^(?:and|or|but|to|of|in|on|at|by|for|from|with|as|when|while|after|before|that|which|who|was|were|is|are|has|had|have|"
    r"will|would|said|says|the|a|an|it|he|she|they|we)$",
    re.I,
)


def _named_by_date(record: EventRecord) -> list[str]:
    """The words a date names when it is written as an event's name ("its Oct. 7 attack", "the
    January 8, 2020, missile strike", "Tuesday's vote"): the words after it up to the first that
    cannot be part of a noun phrase. Empty when the date is not written so."""
    if record.date_start < 0:
        return []
    at, end = record.date_in_sentence
    sentence = record.sentence
    possessive = re.match(r"^['\u2019]s\b", sentence[end:])
    if possessive:
        end += possessive.end()
    elif not _DETERMINER_BEFORE.search(sentence[max(0, at - 12) : at]):
        return []
    match = _NAMED_AFTER.match(sentence[end:])
    if not match:
        return []
    words = []
    for word in match.group(1).split():
        if _NOT_NOUN.match(word):
            break
        words.append(word)
    return [] if words and _TIME_OF_DAY.match(words[0]) else words


def _placement(record: EventRecord, event_keys: set[str]) -> float:
    """1 when the record's date is written beside the event's words in its sentence, less the
    farther it is; 1 for a date not written in the sentence (carried from a neighbour). Counting
    clauses instead ("evaluated on Monday | after missiles hit on Saturday") measured worse on the
    when set (35 against 38 of 55)."""
    if record.date_start < 0:
        return 1.0
    offset = record.sentence_start
    words = [(m.start() + offset, stem_key(fold_word(m.group(0)))) for m in _WORDS.finditer(record.sentence)]
    positions = [i for i, (_, key) in enumerate(words) if key in event_keys]
    if not positions:
        return 1.0 - PLACEMENT_LOSS / 2
    date_at = next((i for i, (start, _) in enumerate(words) if start >= record.date_start), len(words) - 1)
    distance = min(abs(date_at - p) for p in positions)
    return 1.0 - PLACEMENT_LOSS * min(distance, PLACEMENT_WORDS) / PLACEMENT_WORDS


#: A report whose date belongs to one of the question's words ("released ... on Nov. 24" for "when
#: did Hamas release hostages", not "hostages taken during its Oct. 7 attack") gains this share of
#: its relevance. Only the ``GOVERNED_RECORDS`` most similar records with a date in their sentence
#: are parsed. On the when set, 47 of 55 against 46 for any gain from 0.08 to 0.12 and 16 to 48
#: records. Time lines do without it (``score_records(governed=False)``): it widens the gap
#: between occurrences told in the question's words and those told in others ("lowered" for
#: "cut"), and drawing every occurrence near the best lost a third of their days (recall 0.762 -> 0.619).
GOVERNED_GAIN = 0.08
GOVERNED_RECORDS = 16


def _shortlist_rank(item: ScoredRecord) -> float:
    """Order of the records worth a closer look (their own encoding, a parse): the most similar first."""
    return -(item.similarity + 0.5 * item.coverage)


def _mark_governed(scored: list[ScoredRecord], keys: set[str], question: str) -> None:
    """Set ``governed`` on the records most similar to the question whose date belongs to a question
    word done by the question's parties ("Trump met with Zelenskyy on Monday" is no meeting of
    Trump and Putin; ``qa.governs.same_parties``)."""
    written = [item for item in scored if item.record.date_start >= 0]
    chosen = sorted(written, key=_shortlist_rank)[:GOVERNED_RECORDS]
    if not chosen:
        return
    dates = [(item.record.sentence, *item.record.date_in_sentence) for item in chosen]
    readings = [(item, reading) for item, reading in zip(chosen, read_dates(dates), strict=True) if reading.word in keys]
    parties = question_parties(question) if readings else []  # the question is parsed only when it matters
    for item, reading in readings:
        item.governed = same_parties(reading, parties)


def _exact_shortlist(scored: list[ScoredRecord]) -> list[str]:
    """Sentences of the best ``EXACT_PER_DAY`` records of each day, best days first, ``EXACT_RECORDS`` at most."""
    order = sorted(range(len(scored)), key=lambda i: _shortlist_rank(scored[i]))
    per_day: dict[dt.date, int] = {}
    chosen: dict[str, None] = {}
    for i in order:
        record = scored[i].record
        if per_day.get(record.day, 0) >= EXACT_PER_DAY or record.sentence in chosen:
            continue
        per_day[record.day] = per_day.get(record.day, 0) + 1
        chosen[record.sentence] = None
        if len(chosen) == EXACT_RECORDS:
            break
    return list(chosen)


def _covered(terms: list[str], keys: dict[str, str], text_terms: set[str]) -> set[str]:
    """The question's terms a text (its ``stem_terms``, with compounds) holds, in any form of the word."""
    found = covered_terms([keys[t] for t in terms], text_terms)
    return {t for t in terms if keys[t] in found}


# ---- grouping reports into events and choosing one -------------------------------------------


@dataclass
class EventGroup:
    """Reports of one event: records within a day or so of each other, from one or more articles."""

    day: dt.date
    precision: Precision
    members: list[ScoredRecord]
    #: The best member's relevance, and that with the support of further articles added.
    top: float = 0.0
    score: float = 0.0

    @property
    def articles(self) -> int:
        return len({m.record.article_id for m in self.members})

    def ranked(self) -> list[ScoredRecord]:
        """The members, the best report first, then by relevance."""
        best = self.best
        return [best, *sorted((m for m in self.members if m is not best), key=lambda m: -m.relevance)]

    @property
    def best(self) -> ScoredRecord:
        """The member that states the group's day most relevantly (stated dates before carried ones)."""
        on_day = [m for m in self.members if m.record.day == self.day and m.record.precision == self.precision]
        return max(
            on_day or self.members,
            key=lambda m: (m.record.how != COUNTED, m.record.how == STATED, m.record.explicit, m.relevance),
        )


#: Reports within this many days of the day an event's reports state most are the same event.
SAME_EVENT_DAYS = 1
#: Each further article reporting the event adds to its score, with diminishing returns.
SUPPORT_WEIGHT = 0.09
#: A record reports the question's event only with at least this relevance...
MIN_RECORD = 0.40
#: ...and this share of the question's terms (by rarity) in its sentence, neighbours or title...
MIN_COVERAGE = 0.3
#: ...and within this much of the best record: a passing mention is not a report.
RECORD_MARGIN = 0.35
#: Groups this far below the best group still count as occurrences when choosing the last or first.
GROUP_MARGIN = 0.1
#: A day answers before a month or a year unless its group is this far below theirs: "died in a
#: plane crash last month" (August) rather than a day of another story that only names the man.
#: On the when set the same answers at 0.15 and 0.2 (at 0.1 a wrong day became a wrong year). On
#: two questions of our own whose day the 20k archive never states, the right year, not a wrong day.
DAY_MARGIN = 0.15
#: A group's relevance is half its best report's and half the mean of its best ``SCORE_REPORTS``
#: articles' reports: one sentence that happens to repeat the question's words does not outweigh
#: several that report the event in their own words (same accuracy on the when set, one strong
#: look-back no longer hides a later occurrence).
SCORE_REPORTS = 3
SCORE_MIX = 0.5


def group_events(scored: list[ScoredRecord], ends: bool = False) -> list[EventGroup]:
    """Records grouped by day (precise ones within ``SAME_EVENT_DAYS``), each group dated by the day
    its reports state most, weighted by relevance; coarse dates grouped by their own period. With
    ``ends`` (the question asks when something stopped), a range dates its event by its last day."""
    if not scored:
        return []
    if ends:
        _weigh_ends(scored)
    floor = max(MIN_RECORD, max(s.relevance for s in scored) - RECORD_MARGIN)
    kept = [s for s in scored if s.relevance >= floor and s.coverage >= MIN_COVERAGE]
    kept = _best_per_sentence(kept, ends=ends)
    groups: list[EventGroup] = []
    groups += [_group(run, "day") for run in _around_peaks([s for s in kept if s.record.precision == "day"])]
    coarse: dict[tuple[dt.date, Precision], list[ScoredRecord]] = {}
    for item in kept:
        if item.record.precision != "day":
            coarse.setdefault((item.record.day, item.record.precision), []).append(item)
    groups += [_group(members, precision) for (_, precision), members in coarse.items()]
    if ends:
        groups = _reporting_an_end(groups)
    return groups


def _reporting_an_end(groups: list[EventGroup]) -> list[EventGroup]:
    """The groups with a report that names an end (``names_an_end``), when any has one: a day that
    only reports of the beginning or of the course of an event state ("the strike began on Sept.
    3, without an end in sight") does not answer when the event ended, however many say it and
    however closely their words match the question's."""
    ending = [g for g in groups if any(m.supports for m in g.members)]
    return ending or groups


#: A question about when something ended ("When did the shutdown end?") is answered by reports of
#: the end: a report that names none ("the first day of the shutdown Oct. 1") weighs this much and
#: adds nothing to its day's support. On the when set 48 against 47 (0.7 and 0.9 the same; the
#: weight alone, without the support, 47: two dozen articles on the first day outweighed it).
ENDLESS_WEIGHT = 0.8
#: Not ``qa.answer``'s words for a question about an end: in a report "over" is mostly "a standoff
#: over funding" (with it, the shutdown's first-day reports kept their support: 47).
_ENDING = re.compile(
    r"\b(?:end(?:ed|s|ing)?|conclu(?:ded?|des|sion)|finish(?:ed|es)?|reopen(?:ed|s|ing)?|lift(?:ed|s)?|expire[sd]?|"
    r"(?:final|last)\s+day|(?:is|was)\s+over)\b",
    re.I,
)


#: An ending word that says nothing ended: negated or only expected ("unlikely to end today",
#: "without an end in sight", "failed to end"), or the end of a span of time ("until the end of
#: the day on Sept. 30").
_NO_END_BEFORE = re.compile(r"\b(?:no|not|never|without|unlikely|fail(?:ed|s)?|hopes?|would|could|will|may|might)\s+(?:\w+\s+){0,1}$", re.I)
_END_OF_TIME = re.compile(r"^\s+of\s+(?:the\s+|this\s+|next\s+|that\s+)?(?:day|week|month|year|quarter|season|term|session|decade)\b", re.I)


def names_an_end(sentence: str) -> bool:
    """Whether a sentence says something ended: an ending word ("ended", "reopened", "was over")
    that is neither negated nor only expected, nor the end of a span of time.

    >>> [names_an_end(s) for s in ("The 43-day shutdown ended Nov. 12.", "Shutdown unlikely to end today",
    ...     "Congress has until the end of the day on Sept. 30 to avoid a shutdown.", "Without an end in sight, it goes on.")]
    [True, False, False, False]
    """
    for match in _ENDING.finditer(sentence):
        if _NO_END_BEFORE.search(sentence[max(0, match.start() - 30) : match.start()]):
            continue
        if _END_OF_TIME.match(sentence[match.end() : match.end() + 30]):
            continue
        return True
    return False


def _weigh_ends(scored: list[ScoredRecord]) -> None:
    """Lower the reports that name no end (``ENDLESS_WEIGHT``); the last day of a range ("from Oct. 1
    to Nov. 12") names one."""
    for items in _by_sentence(scored).values():
        if names_an_end(items[0].record.sentence):
            continue
        ranged = _range(items)
        for item in items:
            if ranged is None or item is not ranged[1]:
                item.relevance *= ENDLESS_WEIGHT
                item.supports = False


def _around_peaks(records: list[ScoredRecord]) -> list[list[ScoredRecord]]:
    """Day-precise records gathered around the days their reports state most: the strongest day
    takes every record within ``SAME_EVENT_DAYS`` of it, then the strongest day left, and so on.
    Chaining days from the earliest instead lets a stray report of the day before (an Emmy
    nomination on the 12th) split one event's reports of the 13th and 14th into two events."""
    weight: dict[dt.date, float] = {}
    for item in records:
        weight[item.record.day] = weight.get(item.record.day, 0.0) + _vote(item)
    left = sorted(records, key=lambda s: s.record.day)
    runs = []
    while left:
        peak = max({s.record.day for s in left}, key=lambda d: (weight[d], -d.toordinal()))
        runs.append([s for s in left if abs((s.record.day - peak).days) <= SAME_EVENT_DAYS])
        left = [s for s in left if abs((s.record.day - peak).days) > SAME_EVENT_DAYS]
    return runs


def _best_per_sentence(records: list[ScoredRecord], ends: bool = False) -> list[ScoredRecord]:
    """Of the days one sentence states, only the one it dates the event by (the most relevant):
    "missiles hit the base on Saturday, the Pentagon said on Monday" is one event, on Saturday.
    A range ("the strike from Sept. 15 to Oct. 30") dates the event by its first day, or by its
    last when the question asks when something ended."""
    best: dict[tuple[str, int], ScoredRecord] = {}
    for key, items in _by_sentence(records).items():
        ranged = _range(items)
        best[key] = (ranged[1] if ends else ranged[0]) if ranged else max(items, key=lambda i: i.relevance)
    return [item for item in records if best[(item.record.article_id, item.record.sentence_start)] is item]


def _by_sentence(records: list[ScoredRecord]) -> dict[tuple[str, int], list[ScoredRecord]]:
    """The records of each sentence (article and offset), in their order."""
    by_sentence: dict[tuple[str, int], list[ScoredRecord]] = {}
    for item in records:
        by_sentence.setdefault((item.record.article_id, item.record.sentence_start), []).append(item)
    return by_sentence


_RANGE_FROM = re.compile(r"\b(?:from|between)\s+$", re.I)
_RANGE_TO = re.compile(r"^(?:,?\s*(?:19|20)\d\d)?,?\s*(?:to|through|until|till|and)\s+$", re.I)
_RANGE_DASH = re.compile(r"^(?:,?\s*(?:19|20)\d\d)?\s*[-\u2013\u2014]\s*$")


def _range(items: list[ScoredRecord]) -> tuple[ScoredRecord, ScoredRecord] | None:
    """The first and last day of a range the sentence writes ("from Dec. 22, 2018 to Jan. 25,
    2019", "Sept. 15 - Oct. 30"), among its day-precise records, if it writes one."""
    written = sorted((i for i in items if i.record.date_start >= 0 and i.record.precision == "day"), key=lambda i: i.record.date_start)
    for first, last in itertools.pairwise(written):
        quote, at = first.record.quote, first.record.start
        between = quote[first.record.date_end - at : last.record.date_start - at]
        before = quote[max(0, first.record.date_start - at - 12) : first.record.date_start - at]
        if _RANGE_DASH.match(between) or (_RANGE_TO.match(between) and _RANGE_FROM.search(before)):
            return (first, last) if first.record.day <= last.record.day else None
    return None


#: How much more a day written with its number weighs, in the vote on a group's day, than one resolved from a weekday.
EXPLICIT_VOTE = 2.0


#: How much a day carried from a neighbouring sentence weighs in that vote: it is the neighbour's
#: word again ("Iran fired missiles Tuesday. The missiles targeted al Assad air base ..."), not a
#: report of its own. Counted whole, one article's two sentences outvoted another that writes
#: "January 8, 2020" (`bench/ain_al_asad.py`'s time line); not at all, or once per article,
#: one article's two reports of the pagers' day lost to its one of the radios' (the when set 50).
CARRIED_VOTE = 0.5


def _vote(item: ScoredRecord) -> float:
    """How much a record says its event was on its day: its relevance, twice over when the day is
    written with its number ("Jan. 8") rather than resolved from a weekday or a word ("Tuesday",
    "yesterday": read against when and where the article was written), half when it is carried
    from a neighbour."""
    weight = EXPLICIT_VOTE if item.record.numbered else 1.0
    return weight * (CARRIED_VOTE if item.record.how == CARRIED else 1.0) * item.relevance


def _group(members: list[ScoredRecord], precision: Precision) -> EventGroup:
    votes: dict[dt.date, float] = {}
    # Reports written after the day they name tell what happened; a preview ("the contract expires
    # at 11:59 p.m. on Sept. 14", written before it) tells what was planned, and a date in another
    # verb's clause ("before reversing the move early Wednesday") is that verb's. They vote only
    # when there is nothing else.
    reports = [m for m in members if not _preview(m.record) and not m.other_verb] or members
    for m in reports:
        votes[m.record.day] = votes.get(m.record.day, 0.0) + _vote(m)
    day = max(votes, key=lambda d: (votes[d], -d.toordinal()))
    top = max(m.relevance for m in members)
    best_per_article: dict[str, float] = {}
    for m in members:
        best_per_article[m.record.article_id] = max(best_per_article.get(m.record.article_id, 0.0), m.relevance)
    # Syndicated copies (the same sentence in several articles) are one report.
    articles = len({" ".join(m.record.sentence.split()).lower() for m in members if m.supports}) or 1
    reports = sorted(best_per_article.values(), reverse=True)[:SCORE_REPORTS]
    base = (1 - SCORE_MIX) * top + SCORE_MIX * sum(reports) / len(reports)
    score = base + SUPPORT_WEIGHT * math.log1p(articles - 1)
    return EventGroup(day=day, precision=precision, members=members, top=top, score=score)


def _preview(record: EventRecord) -> bool:
    """Whether the record names a day after its article was published."""
    return record.published is not None and record.day > record.published


def choose(groups: list[EventGroup], order: str | None, question: str | None = None) -> EventGroup | None:
    """The group that answers. Day-precise groups answer before coarser ones (a year is not the day
    the question asks for) unless they are more than ``DAY_MARGIN`` below them; among them, for
    "last" the latest and for "first" the earliest of those whose score (relevance and support) is
    near the best, or that a report numbers among the occurrences of the ``question``'s event
    ("its third cut of the year" for "When did the Fed last cut rates?"), otherwise the best."""
    if not groups:
        return None
    return _pick(_occurred(groups) if order in ("last", "first") else groups, order, question)


def _pick(groups: list[EventGroup], order: str | None, question: str | None = None) -> EventGroup | None:
    """``choose`` among groups already narrowed to occurrences where the order asks for them."""
    if order == "last":
        groups = _not_after_a_last_time(groups)
    if not groups:
        return None
    days = [g for g in groups if g.precision == "day"]
    pool = days if days and max(g.score for g in days) >= max(g.score for g in groups) - DAY_MARGIN else groups
    best = max(pool, key=lambda g: g.score)
    near = [g for g in pool if g.score >= best.score - GROUP_MARGIN]
    if order in ("last", "first"):
        # An occurrence reported as relevantly as the best supported one is a candidate however
        # few articles report it: support tells how much an occurrence was written about, and the
        # latest is often the least written about yet.
        taken = {id(g) for g in near}
        near += [g for g in pool if g.top >= best.top and id(g) not in taken]
        # A report that numbers its occurrence ("announced its third cut of the year") says it is
        # one of the question's event, however weakly its words match: its own word, the verb's.
        # Only occurrences beyond those already near could change the answer.
        if order == "last":
            latest = max(g.day for g in near)
            beyond = [g for g in pool if g.day > latest]
        else:
            earliest = min(_period_end(g) for g in near)
            beyond = [g for g in pool if _period_end(g) < earliest]
        verb = question_verb(question) if question and beyond else None
        if verb is not None:
            near += _numbered_occurrences(beyond, {verb})
    if order == "last":
        return _done_by_the_asked(sorted(near, key=lambda g: (g.day, g.score), reverse=True), question)
    if order == "first":
        chosen = _done_by_the_asked(sorted(near, key=lambda g: (_period_end(g), -g.score)), question)
        # "fired ballistic missiles for the first time in two years": a report that says its
        # occurrence repeats an earlier one rules itself out, and the first is among those before.
        before = _repeats_before(chosen)
        earlier = [g for g in groups if _period_end(g) < before] if before is not None else []
        return _pick(earlier, order, question) if earlier else chosen
    return max(near, key=lambda g: g.score)


#: Reports of a candidate read for who did it (``_done_by_another``), the most relevant first.
DOER_REPORTS = 12


def _done_by_the_asked(ranked: list[EventGroup], question: str | None) -> EventGroup:
    """The first of ``ranked`` not done by another than the question's doer, when the question
    describes its doer ("a former U.S. president"); the first of all if every one is."""
    description = question_description(question) if question else None
    if description is not None:
        for group in ranked:
            if not _done_by_another(group, description):
                return group
    return ranked[0]


def _done_by_another(group: EventGroup, description: Description) -> bool:
    """Whether the group's reports say its event was done by another than the question describes:
    one report's doer bears another title built on the question's noun ("Former Vice President
    Dick Cheney died" for "When did a former U.S. president most recently die?") and none bears
    the question's ("Former President Jimmy Carter died")."""
    members = sorted(group.members, key=lambda m: -m.relevance)
    reports = [m.record for m in members if m.record.date_start >= 0 and _holds_key(m.record.sentence, {description.noun})][:DOER_REPORTS]
    if not reports:
        return False
    readings = described([(record.sentence, *record.date_in_sentence) for record in reports], description)
    return True not in readings and False in readings


#: Words by which a report says its occurrence repeats an earlier one ("erupted again", "resumed
#: its strikes", "for the third time").
_AGAIN = re.compile(
    r"\b(?:again|resum(?:ed|es|ing)|renewed|once\s+more)\b|\bfor\s+the\s+(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th))\s+time\b",
    re.I,
)
_GAP = re.compile(
    r"\b(?:in|since)\s+(?:(?:more|almost|nearly|over|than|about|some)\s+){0,3}(?:(\d+|an?|one|two|three|four|five|six|seven|eight|"
    r"nine|ten|several)\s+)?(day|week|month|year|decade)s?\b|\bsince\s+((?:19|20)\d\d)\b",
    re.I,
)
_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "several": 2,
}
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365, "decade": 3652}
#: "For the first time in two years" is said of gaps a little shorter too: an earlier occurrence
#: may lie this share of the gap closer.
GAP_SLACK = 0.1
#: A title speaks of a record's day when the article was published within this many days of it.
TITLE_NEWS_DAYS = 7


def _repeats_before(group: EventGroup) -> dt.date | None:
    """The day before which an earlier occurrence lies, if the group's best report says it repeats
    one: "erupted again" (any day before the event), "for the first time in two years" (two years
    before it, in the report or its article's title), "the first since 2020" (before 2021). None
    when the report calls the occurrence a first ("the first crew to fly") or says nothing of one."""
    record = group.best.record
    sentence = record.sentence
    if _FIRST_WORDS.search(sentence) and not _FIRST_SINCE.search(sentence):
        return None
    # A title tells of the article's own news, not of an earlier day one of its sentences recalls.
    news = record.published is not None and 0 <= (record.published - record.day).days <= TITLE_NEWS_DAYS
    since = _FIRST_SINCE.search(sentence) or (_FIRST_SINCE.search(record.title) if news else None)
    if since is None:
        return group.day - dt.timedelta(days=SAME_EVENT_DAYS) if _AGAIN.search(sentence) else None
    return _before_gap(since.group(0), group.day)


def _before_gap(phrase: str, day: dt.date) -> dt.date:
    """The day before which the earlier occurrence a "first ... in/since" phrase speaks of lies.

    >>> _before_gap("first time in two years", dt.date(2024, 1, 20))
    datetime.date(2022, 4, 3)
    >>> _before_gap("its first rate cut in more than four years", dt.date(2024, 9, 18))
    datetime.date(2021, 2, 12)
    >>> _before_gap("the first since 2020", dt.date(2024, 9, 18))
    datetime.date(2021, 1, 1)
    >>> _before_gap("the first in decades", dt.date(2024, 9, 18))
    datetime.date(2015, 9, 20)
    """
    gap = _GAP.search(phrase)
    if gap is None:
        return day - dt.timedelta(days=SAME_EVENT_DAYS)
    if gap.group(3):
        return dt.date(int(gap.group(3)) + 1, 1, 1)
    count = gap.group(1)
    number = int(count) if count and count.isdigit() else _NUMBER_WORDS.get((count or "a").lower(), 1)
    days = number * _UNIT_DAYS[gap.group(2).lower()] * (1 - GAP_SLACK)
    return day - dt.timedelta(days=max(days, SAME_EVENT_DAYS))


#: "The last time a total solar eclipse was visible here was Aug. 21, 2017", "since the Fed's last
#: rate cut on Sept. 18": a report that its day was the latest occurrence when it was written.
_LAST_TIME = re.compile(
    r"\b(?:last\s+time|most\s+recent(?:ly)?|(?:the|its|their|his|her)\s+(?:\w+['\u2019]s\s+)?last\s+"
    r"(?!(?:years?|months?|weeks?|nights?|weekend|days?|hours?|minutes?|moment|second|few|one|two|three|four|five|of|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b)\w+)\b",
    re.I,
)


def _not_after_a_last_time(groups: list[EventGroup]) -> list[EventGroup]:
    """The groups no report rules out: one that calls its day the last occurrence ("the last time
    ... was Aug. 21, 2017", written in April 2024) says none came between that day and the day it
    was written, so an occurrence found there (an annular eclipse of Oct. 14, 2023) is of
    something else. All the groups if that would leave none."""
    spans = []
    for group in groups:
        for member in group.members:
            record = member.record
            if record.precision != "day" or record.date_start < 0 or record.published is None or record.published <= record.day:
                continue
            cue = _LAST_TIME.search(record.sentence)
            if cue is not None and cue.start() < record.date_in_sentence[0]:
                spans.append((record.day, record.published))
    kept = [g for g in groups if not any(day < g.day < written for day, written in spans)]
    return kept or groups


def _occurred(groups: list[EventGroup]) -> list[EventGroup]:
    """The groups that are occurrences: those with a report that it happened (``reports_it_happened``),
    written on or after the day it names, within ``OCCURRED_MARGIN`` of the best such report among
    day-precise groups. A day that every report only plans, expects or denies ("could launch as
    soon as Sunday, Sept. 15"), or that only previews name, is no occurrence for "last", "first" or
    a time line of what happened."""
    reported = [max((m.relevance for m in g.members if m.happened and not _preview(m.record)), default=0.0) for g in groups]
    days = [r for g, r in zip(groups, reported, strict=True) if g.precision == "day"] or reported
    floor = max(days) - OCCURRED_MARGIN
    return [g for g, r in zip(groups, reported, strict=True) if r >= floor]


def _period_end(group: EventGroup) -> dt.date:
    return precision_end(group.day, group.precision)


# ---- what a question gets -----------------------------------------------------------------------


def event_answer(question: str, group: EventGroup, groups: list[EventGroup], max_citations: int) -> Answer:
    """The answer a chosen group gives: its day, the best report's quote first, then the other
    articles that report the same day, then the other occurrences (as context)."""
    best = group.best
    record = best.record
    citations = [record.citation()]
    seen = {record.article_id}
    for member in sorted(group.members, key=lambda m: -m.relevance):
        if member.record.article_id not in seen and member.record.day == group.day:
            seen.add(member.record.article_id)
            citations.append(member.record.citation())
    others = len(groups) - 1
    message = f"{group.articles} article(s) report this day" + (f"; {others} other dated occurrence(s) found" if others else "")
    return dated_answer(
        question, group.day, group.precision, record.date_text, group.score, _fold_copies(citations)[:max_citations], message
    )


def event_timeline(query: str, groups: list[EventGroup], happened: bool = True) -> Timeline:
    """Every group near the best, oldest first; a coarse date holding a precise group is that group.
    With ``happened`` (a time line of what happened, not of what is planned) only occurrences
    (``_occurred``) are drawn: not "could launch as soon as Sunday, Oct. 13", written on Oct. 7;
    and so is an occurrence a report numbers in the query's series, however far below the best
    (``_numbered_occurrences``)."""
    if not groups:
        return Timeline(query=query, events=[])
    pool = [g for g in groups if g.precision == "day"] or groups
    best = max(g.score for g in pool)
    near = [g for g in groups if g.score >= best - TIMELINE_MARGIN]
    occurred = _occurred(groups)
    if happened:
        ids = {id(g) for g in occurred}
        near = [g for g in near if id(g) in ids]
        taken = {id(g) for g in near}
        names = question_names(query)
        keys = {stem_key(term) for term in question_terms(query) if term not in names}
        near += _numbered_occurrences([g for g in occurred if id(g) not in taken], keys)
    # What "when ... first" and "when ... last" would answer (``choose``) is on the timeline too.
    drawn = {id(g) for g in near}
    for group in (_pick(occurred, "first", query), _pick(occurred, "last", query)):
        if group is not None and id(group) not in drawn:
            drawn.add(id(group))
            near.append(group)
    precise = [g for g in near if g.precision == "day"]
    kept = precise + [
        g for g in near if g.precision != "day" and not any(g.day <= p.day <= precision_end(g.day, g.precision) for p in precise)
    ]
    events = []
    for group in sorted(kept, key=lambda g: (g.day, PRECISIONS.index(g.precision))):
        members = sorted(group.members, key=lambda m: (m.record.day != group.day, -m.relevance))
        citations, seen = [], set()
        for member in members:
            if member.record.article_id not in seen:
                seen.add(member.record.article_id)
                citations.append(member.record.citation())
        events.append(
            TimelineEvent(
                date=group.day.isoformat(),
                precision=group.precision,
                quote=group.best.record.quote,
                score=round(group.score, 4),
                citations=_fold_copies(citations),
            )
        )
    return Timeline(query=query, events=events)


def _numbered_occurrences(groups: list[EventGroup], keys: set[str]) -> list[EventGroup]:
    """The day-precise ``groups`` with a report that numbers its occurrence in a series of one of
    ``keys`` (``stem_key`` words) and says it happened ("The second launch test of the Starship on
    Nov. 18 saw the rocket explode", "just after the central bank on Wednesday announced its third
    cut of the year"): a report that counts an occurrence among others of its kind tells that it is
    one, however weakly its words match the query's. Only reports holding an ordinal and a key are parsed."""
    reports = [
        (group, member.record)
        for group in groups
        if group.precision == "day"
        for member in group.members
        if member.happened
        and not _preview(member.record)
        and member.record.date_start >= 0
        and _ordinal_and_key(member.record.sentence, keys)
    ]
    if not reports:
        return []
    found = numbered([(record.sentence, *record.date_in_sentence) for _, record in reports], keys)
    chosen: dict[int, EventGroup] = {}
    for (group, _), yes in zip(reports, found, strict=True):
        if yes:
            chosen[id(group)] = group
    return list(chosen.values())


def _ordinal_and_key(sentence: str, keys: set[str]) -> bool:
    """Whether a sentence holds an ordinal and one of ``keys`` (the cheap test before a parse)."""
    return ORDINAL.search(sentence) is not None and _holds_key(sentence, keys)


def _holds_key(sentence: str, keys: set[str]) -> bool:
    """Whether one of the sentence's words is, folded, one of ``keys`` (``stem_key`` words)."""
    return any(stem_key(fold_word(word)) in keys for word in _WORDS.findall(sentence))


def _fold_copies(citations: list[Citation]) -> list[Citation]:
    """Citations quoting the same words in other articles (syndicated copies) become copies of the first."""
    kept: dict[str, Citation] = {}
    for citation in citations:
        key = " ".join(citation.quote.split()).lower()
        if key in kept:
            first = kept[key]
            located = citation.model_dump(include=set(Located.model_fields))
            first.copies.append(Copy(**located, exact=citation.quote == first.quote))
        else:
            kept[key] = citation
    return list(kept.values())


#: Groups this far below the best one are drawn on a timeline.
TIMELINE_MARGIN = 0.15
#: An occurrence's best report that it happened is at most this far below the best such report
#: (``_occurred``). On the when set: timelines' precision 0.941 -> 1.0, recall the same, and the
#: same answers, for any margin from 0.2 to 0.5 (0.1 costs three answers).
OCCURRED_MARGIN = 0.3
