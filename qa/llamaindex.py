"""Dateline as a LlamaIndex retriever, so its dated, name-folded, hybrid search feeds any LlamaIndex
query engine or agent (with an LLM of the user's choosing).

    >>> from llama_index.core.query_engine import RetrieverQueryEngine  # doctest: +SKIP
    >>> engine = RetrieverQueryEngine.from_args(DatelineRetriever(archive, as_of="2024-06-01"), llm=my_llm)  # doctest: +SKIP
"""

from __future__ import annotations

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode

from qa.archive import Archive, DateLike


class DatelineRetriever(BaseRetriever):
    """Passages from ``Archive.search`` as LlamaIndex nodes (character offsets and dates kept in metadata)."""

    def __init__(self, archive: Archive, k: int = 10, *, as_of: DateLike = None, since: DateLike = None, until: DateLike = None) -> None:
        super().__init__()
        self.archive = archive
        self.k = k
        self.filters = {"as_of": as_of, "since": since, "until": until}

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        nodes = []
        for passage in self.archive.search(query_bundle.query_str, self.k, **self.filters):
            node = TextNode(
                id_=passage.chunk_id,
                text=passage.text,
                start_char_idx=passage.start,
                end_char_idx=passage.end,
                metadata={
                    "article_id": passage.article_id,
                    "title": passage.title,
                    "url": passage.url,
                    "source": passage.source,
                    "published": passage.published or "",
                    "event_dates": [e.date.isoformat() for e in passage.events],
                    "copies": [c.article_id for c in passage.copies],
                },
            )
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=passage.article_id)
            nodes.append(NodeWithScore(node=node, score=passage.score))
        return nodes
