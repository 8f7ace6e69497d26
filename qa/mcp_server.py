"""The archive for agents: a Model Context Protocol server (``dateline mcp``).

Four tools, returning the same models as the REST API, citations included: ``ask`` (an answer
with its date and verbatim citations), ``search`` (passages), ``timeline`` (dated events) and
``article`` (an article's full text, to read a citation in context). Served over stdio (what
desktop MCP clients start) or streamable HTTP on loopback (``--http``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field

from qa.errors import DatelineError
from qa.models import Answer, Article, Passage, Timeline

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from qa.archive import Archive

INSTRUCTIONS = (
    "A news archive. Use `ask` for a question (it answers with the day an event happened and verbatim "
    "citations; 'last', 'first' and 'as of' questions choose among every dated report), `timeline` for "
    "every dated occurrence of an event, `search` for passages, and `article` to read a cited article "
    "whole. Quote citations as given: each quote is an exact span of its article (article_id, start, end)."
)

Day = Annotated[dt.date | None, Field(description="A day, YYYY-MM-DD")]
Sources = Annotated[list[str] | None, Field(description="Only these sources (as in a passage's `source`)")]


class SearchResults(BaseModel):
    results: list[Passage]


def build_server(archive: Archive) -> MCPServer:
    """An MCP server over ``archive``; ``.run("stdio")`` or ``.run("streamable-http", host=..., port=...)``."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer(name="dateline", instructions=INSTRUCTIONS, version="0.1.0")

    def guarded(call):  # type: ignore[no-untyped-def]
        try:
            return call()
        except DatelineError as exc:  # a bad date or a missing index: the agent is told why
            raise ToolError(str(exc)) from None

    @server.tool()
    def ask(
        question: Annotated[str, Field(min_length=1, max_length=1000, description="A question in plain language")],
        as_of: Annotated[
            dt.date | None,
            Field(description="Answer as of this day: nothing that happened after it (add until for only what was published by then)"),
        ] = None,
        since: Day = None,
        until: Day = None,
        sources: Sources = None,
        k: Annotated[int, Field(ge=1, le=20, description="Citations at most")] = 5,
    ) -> Answer:
        """Answer a question from the archive: the answer, the event's day when it asks when, and verbatim citations."""
        return guarded(lambda: archive.ask(question, as_of=as_of, since=since, until=until, source=sources, k=k))

    @server.tool()
    def search(
        query: Annotated[str, Field(min_length=1, max_length=1000, description="What to look for")],
        k: Annotated[int, Field(ge=1, le=100)] = 10,
        since: Day = None,
        until: Day = None,
        as_of: Day = None,
        sources: Sources = None,
    ) -> SearchResults:
        """Passages that match a query, best first, with their article, source, publication day and offsets."""
        return SearchResults(results=guarded(lambda: archive.search(query, k, since=since, until=until, as_of=as_of, source=sources)))

    @server.tool()
    def timeline(
        query: Annotated[str, Field(min_length=1, max_length=1000, description="An event or topic")],
        since: Day = None,
        until: Day = None,
        as_of: Day = None,
        sources: Sources = None,
    ) -> Timeline:
        """Every dated occurrence of an event the archive reports, oldest first, each with its citations."""
        return guarded(lambda: archive.timeline(query, since=since, until=until, as_of=as_of, source=sources))

    @server.tool()
    def article(article_id: Annotated[str, Field(min_length=1, description="An article_id from a citation or passage")]) -> Article:
        """One article with its full text: a citation's quote is text[start:end]."""
        found = guarded(lambda: archive.article(article_id))
        if found is None:
            raise ToolError(f"no article with id {article_id!r}")
        return found

    return server
