"""Chunks fit the model's window, keep exact offsets and leave no text out."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.chunk import Chunker, split_sentences
from qa.embed import Encoder
from qa.settings import Settings


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    encoder = Encoder.shared(Settings().resolved_model_dir())
    return Chunker(encoder.tokenizer, max_tokens=256, overlap_tokens=48)


words = st.sampled_from(
    ["missile", "al-Asad", "Jan.", "U.S.", "base", "hit", "Iraq", "p.m.", "2024", "déjà", "“quoted”", "x" * 40, "!", "?"]
)
sentences = st.lists(words, min_size=1, max_size=60).map(lambda ws: " ".join(ws) + ".")
texts = st.lists(sentences, min_size=1, max_size=40).map(lambda ss: " ".join(ss)) | st.text(min_size=1, max_size=3000)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts)
def test_chunks_are_exact_fit_the_window_and_cover_the_text(chunker: Chunker, text: str) -> None:
    chunks = chunker.chunk(text)
    covered = [False] * len(text)
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        # Measured with the real tokenizer, standalone, as the model will see it.
        assert len(chunker.token_starts(chunk.text)) + 2 <= 256
        for i in range(chunk.start, chunk.end):
            covered[i] = True
    assert all(covered[i] for i, c in enumerate(text) if not c.isspace())


def test_long_article_gets_overlapping_chunks(chunker: Chunker) -> None:
    text = " ".join(f"Sentence number {i} says the base was hit by missiles in western Iraq." for i in range(200))
    chunks = chunker.chunk(text)
    assert len(chunks) > 5
    for before, after in itertools.pairwise(chunks):
        assert after.start < before.end  # the last sentences are repeated
        assert after.start > before.start
    assert max(c.tokens for c in chunks) > 200  # packed close to the window, not tiny pieces


def test_sentence_split_keeps_abbreviations_together() -> None:
    text = "At 6:30 p.m. on Jan. 20 the U.S. base was hit. Gen. Smith said so! Was it? Yes."
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "At 6:30 p.m. on Jan. 20 the U.S. base was hit.",
        "Gen. Smith said so!",
        "Was it?",
        "Yes.",
    ]
