"""Folding words so that spellings of one name meet: Ain al-Asad, Al Asad, al-Assad, Ain Assad.

The rules are about how names are written, not about any particular name: case, diacritics,
apostrophes and hyphens, Arabic definite articles and the word "ain" written as a prefix,
doubled letters, and a plural "s".
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache

_PARTICLES = {"al", "el", "ul", "ad", "ar", "as", "ash", "at", "az", "an", "ain", "ayn"}
_STOPWORDS = {
    "a", "about", "after", "again", "all", "also", "am", "and", "any", "are", "be", "been", "before", "being",
    "but", "by", "can", "could", "did", "do", "does", "for", "from", "had", "has", "have", "he", "her", "here",
    "his", "how", "i", "if", "in", "into", "is", "it", "its", "last", "latest", "many", "more", "most", "much",
    "of", "on", "or", "our", "out", "over", "she", "so", "some", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "those", "to", "up", "us", "was", "we", "were", "what", "when", "where",
    "which", "while", "who", "whom", "why", "will", "with", "would", "you", "first", "earliest", "recently",
    "since", "until", "time", "times", "said", "says",
}  # fmt: skip
_WORD = re.compile(r"[^\W_]+")
_APOSTROPHES = re.compile(r"['’ʼʿʾ`´]")


def strip_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=200_000)
def fold_word(word: str) -> str:
    """One word's folded form: ``fold_word("Assad") == fold_word("Asad") == "asad"``."""
    word = word.lower()
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return re.sub(r"(.)\1+", r"\1", word)


def fold_terms(text: str) -> list[str]:
    """Content terms of a text, folded, for lexical matching.

    >>> fold_terms("Ain al-Asad") == fold_terms("Al Assad") == fold_terms("ʿAyn al-Asad") == ["asad"]
    True
    """
    return [fold_word(word) for word in _plain_words(text) if word not in _PARTICLES and word not in _STOPWORDS]


def fold_words(text: str) -> list[str]:
    """Every word of a text folded as ``fold_terms`` folds it, stop words and particles kept.

    >>> fold_words("four times")
    ['four', 'time']
    """
    return [fold_word(word) for word in _plain_words(text)]


def _plain_words(text: str) -> list[str]:
    """The words of a text, lower-cased, without accents or apostrophes."""
    return [word.lower() for word in _WORD.findall(_APOSTROPHES.sub("", strip_accents(text)))]


def fold_text(text: str) -> str:
    """A question rewritten in folded terms, for a second dense look-up that meets other spellings."""
    return " ".join(fold_terms(text))


def with_compounds(terms: list[str]) -> set[str]:
    """Folded terms plus each adjacent pair written as one word, so "air base" meets "airbase".

    >>> sorted(with_compounds(fold_terms("Al Asad Air Base")))
    ['air', 'airbase', 'asad', 'asadair', 'base']
    """
    return set(terms) | {a + b for a, b in itertools.pairwise(terms)}


def covered_terms(question_terms: list[str], text_terms: set[str]) -> set[str]:
    """The question's terms a text holds, written apart or together ("air base" / "airbase")."""
    found = {t for t in question_terms if t in text_terms}
    for a, b in itertools.pairwise(question_terms):
        if a + b in text_terms:
            found.update((a, b))
    return found


#: An article joined to a name ("al-Assad", "el-Sisi") or standing before one ("Al Asad", "Ain Assad").
_PARTICLE_BEFORE_NAME = re.compile(
    r"\b(?:" + "|".join(p + "|" + p.capitalize() for p in sorted(_PARTICLES)) + r")-[A-Z]|\b(?:Al|El|Ain|Ayn|al|el)\s+[A-Z]"
)
_NAME_TOKEN = re.compile(r"[^\W\d_][\w'’]*(?:-[^\W\d_][\w'’]*)*")


def compatible_names(question: str, text: str) -> bool:
    """Whether the question's names, where ``text`` has them, can be the ones the question means.

    Folding makes "Ain al-Asad" (an air base) and "Bashar al-Assad" (a man) one term; what tells
    them apart is the name part before the article: a given name the question does not have. A
    name of the question that occurs in ``text`` only as part of such a longer name is another's.

    >>> compatible_names("When was Ain al-Asad hit?", "Syria's Bashar al-Assad fled.")
    False
    >>> compatible_names("When was Ain al-Asad hit?", "Missiles hit Al Asad air base; Bashar al-Assad spoke.")
    True
    >>> compatible_names("When did Bashar al-Assad flee?", "President Bashar al-Assad fled.")
    True
    """
    if not _PARTICLE_BEFORE_NAME.search(text):
        return True  # no name with an article in it: nothing to tell apart
    asked = set(fold_terms(question))
    tokens = list(_NAME_TOKEN.finditer(text))
    verdict: dict[str, bool] = {}
    for k, token in enumerate(tokens):
        parts = token.group(0).split("-")
        folded = fold_terms(parts[-1])
        if not folded or folded[0] not in asked or not parts[-1][:1].isupper():
            continue
        term = folded[0]
        # The article before the name: inside the token ("al-Assad") or the word before ("Al Asad").
        if len(parts) > 1 and parts[-2].lower() in _PARTICLES:
            before = k - 1
        elif k > 0 and tokens[k - 1].group(0).lower() in _PARTICLES and _adjacent(text, tokens[k - 1], token):
            before = k - 2
        else:
            verdict[term] = True
            continue
        head = tokens[before] if before >= 0 else None
        anchor = tokens[before + 1]
        foreign = (
            head is not None
            and _adjacent(text, head, anchor)
            and head.group(0)[:1].isupper()
            and head.group(0).lower() not in _PARTICLES
            and not head.group(0).endswith(("'s", "’s"))
            and bool(fold_terms(head.group(0)))
            and not set(fold_terms(head.group(0))) <= asked
        )
        verdict[term] = verdict.get(term, False) or not foreign
    return all(verdict.values())


def _adjacent(text: str, first: re.Match[str], second: re.Match[str]) -> bool:
    return text[first.end() : second.start()].isspace()


@lru_cache(maxsize=200_000)
def word_forms(term: str) -> frozenset[str]:
    """A folded term and what it may be without a verb ending, so "breached", "breaching" and
    "breach" meet, and "died" meets "die"; only forms of at least three letters.

    >>> sorted(word_forms("died")), sorted(word_forms("breaching")), sorted(word_forms("fire"))
    (['die', 'died'], ['breach', 'breache', 'breaching'], ['fir', 'fire'])
    """
    forms = {term}
    if term.endswith("ied"):
        forms.add(term[:-3] + "y")
    if term.endswith(("ed", "es")):
        forms.update((term[:-2], term[:-1]))
    if term.endswith("ing"):
        forms.update((term[:-3], term[:-3] + "e"))
    if term.endswith("e"):
        forms.add(term[:-1])
    return frozenset(f for f in forms if len(f) >= 3)


@lru_cache(maxsize=200_000)
def stem_key(term: str) -> str:
    """The shortest of a term's ``word_forms``: one key for the forms of a word, so "died" and
    "die", "fired" and "fire" match by equality.

    >>> stem_key("died") == stem_key("die"), stem_key("breached") == stem_key("breach")
    (True, True)
    """
    return min(word_forms(term) or {term}, key=lambda form: (len(form), form))


def stem_terms(text: str) -> list[str]:
    """``fold_terms`` of a text, each as its ``stem_key``."""
    return [stem_key(term) for term in fold_terms(text)]
