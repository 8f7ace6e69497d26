"""Dateline plugged into LlamaIndex as a retriever."""

from __future__ import annotations

from qa import Archive
from qa.llamaindex import DatelineRetriever


def test_retriever_returns_nodes_with_offsets_and_dates(corpus_archive: Archive) -> None:
    nodes = DatelineRetriever(corpus_archive, k=3, since="2024-01-01").retrieve("Al Asad Air Base ballistic missiles")
    assert 1 <= len(nodes) <= 3
    top = nodes[0].node
    assert top.metadata["published"] >= "2024-01-01"
    article = corpus_archive.article(top.metadata["article_id"])
    assert article is not None and article.text[top.start_char_idx : top.end_char_idx] == top.text
    assert "2024-01-20" in top.metadata["event_dates"]
