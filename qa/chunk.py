"""Sentence-aligned chunks that fit the embedding model's window, with exact character offsets.

all-MiniLM-L6-v2 reads 256 word pieces and silently drops the rest, so every chunk is measured
with the model's own tokenizer: sentences are packed until the next would not fit, a sentence
longer than the window is cut at word-piece boundaries, and the last sentences of a chunk are
repeated at the start of the next (up to ``overlap_tokens``) so no statement loses its context.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Protocol

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "gen", "lt", "col", "maj", "capt", "sgt", "adm", "gov", "sen", "rep",
    "st", "mt", "ft", "jr", "sr", "no", "vs", "etc", "inc", "ltd", "co", "corp", "approx", "est",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "a.m", "p.m", "u.s", "u.k", "u.n", "e.g", "i.e",
}  # fmt: skip
_CANDIDATE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])|\n\s*")
_WORD_BEFORE = re.compile(r"([\w.]+)\.?$")


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of ``text``, shifted by ``offset``, without outer white space.

    >>> t = "Gen. Smith spoke at 6 p.m. Friday. Missiles hit the U.S. base."
    >>> [t[s:e] for s, e in split_sentences(t)]
    ['Gen. Smith spoke at 6 p.m. Friday.', 'Missiles hit the U.S. base.']
    """
    spans: list[tuple[int, int]] = []
    begin = 0
    for match in _CANDIDATE_END.finditer(text):
        end = match.end()
        if match.group(0).startswith("."):
            word = _WORD_BEFORE.search(text, max(0, match.start() - 40), match.start())
            token = word.group(1).lower().rstrip(".") if word else ""
            if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
                continue
        _append_stripped(text, begin, end, spans)
        begin = end
    _append_stripped(text, begin, len(text), spans)
    return [(s + offset, e + offset) for s, e in spans]


def _append_stripped(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        spans.append((start + lead, start + lead + len(stripped)))


class Tokenizer(Protocol):
    def __call__(self, text: str, **kwargs: object) -> object: ...


@dataclass(frozen=True)
class Chunk:
    """A piece of one article: ``text == article_text[start:end]``."""

    index: int
    start: int
    end: int
    text: str
    tokens: int


class Chunker:
    """Packs sentences into chunks of at most ``max_tokens`` word pieces (special tokens included)."""

    def __init__(self, tokenizer: Tokenizer, max_tokens: int = 256, overlap_tokens: int = 48) -> None:
        self.tokenizer = tokenizer
        self.budget = max_tokens - 2  # [CLS] and [SEP]
        self.overlap = overlap_tokens

    def token_starts(self, text: str) -> list[tuple[int, int]]:
        encoded = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        return [tuple(pair) for pair in encoded["offset_mapping"]]  # type: ignore[index]

    def chunk(self, text: str) -> list[Chunk]:
        offsets = self.token_starts(text)
        starts = [s for s, _ in offsets]
        pieces = []  # (start, end, tokens): sentences, or cuts of a sentence that is too long
        for s_start, s_end in split_sentences(text):
            first = bisect.bisect_left(starts, s_start)
            last = bisect.bisect_left(starts, s_end)
            count = last - first
            if count <= self.budget:
                pieces.append((s_start, s_end, count))
                continue
            for cut in range(first, last, self.budget):
                stop = min(cut + self.budget, last)
                p_end = offsets[stop - 1][1] if stop < last else s_end
                pieces.append((offsets[cut][0], p_end, stop - cut))
        return self._pack(text, pieces)

    def _pack(self, text: str, pieces: list[tuple[int, int, int]]) -> list[Chunk]:
        chunks: list[Chunk] = []
        current: list[tuple[int, int, int]] = []
        used = 0
        for piece in pieces:
            if current and used + piece[2] > self.budget:
                chunks.append(self._make(text, len(chunks), current, used))
                carried: list[tuple[int, int, int]] = []
                carried_tokens = 0
                for previous in reversed(current):
                    if carried_tokens + previous[2] > self.overlap or carried_tokens + previous[2] + piece[2] > self.budget:
                        break
                    carried.insert(0, previous)
                    carried_tokens += previous[2]
                current, used = carried, carried_tokens
            current.append(piece)
            used += piece[2]
        if current:
            chunks.append(self._make(text, len(chunks), current, used))
        return chunks

    @staticmethod
    def _make(text: str, index: int, pieces: list[tuple[int, int, int]], tokens: int) -> Chunk:
        start, end = pieces[0][0], pieces[-1][1]
        return Chunk(index=index, start=start, end=end, text=text[start:end], tokens=tokens)
