"""Agents: `dateline mcp` in a real subprocess, driven by the official MCP Python SDK's client."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from qa import Answer, Archive, Timeline
from tests.conftest import CORPUS, HEADLINE
from tests.test_cli import DATELINE, run

mcp = pytest.importorskip("mcp")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mcp") / "index"
    assert run("ingest", str(CORPUS / "iraq"), "--index", str(folder), "--json").returncode == 0
    return folder


async def _session(server: Any) -> dict[str, Any]:
    """Everything an agent would do: list the tools, ask, look up the timeline, search, read an article, err."""
    from mcp import Client

    out: dict[str, Any] = {}
    async with Client(server) as client:
        out["tools"] = sorted(t.name for t in (await client.list_tools()).tools)
        out["ask"] = await client.call_tool("ask", {"question": HEADLINE})
        out["as_of"] = await client.call_tool("ask", {"question": HEADLINE, "as_of": "2023-06-01"})
        out["timeline"] = await client.call_tool("timeline", {"query": "Ain al-Asad hit by ballistic missiles"})
        out["search"] = await client.call_tool("search", {"query": "Al Asad Airbase", "k": 3, "since": "2024-01-01"})
        citation = out["ask"].structured_content["citations"][0]
        out["article"] = await client.call_tool("article", {"article_id": citation["article_id"]})
        out["missing"] = await client.call_tool("article", {"article_id": "no-such-article"})
        out["bad_date"] = await client.call_tool("ask", {"question": HEADLINE, "as_of": "last Tuesday"})
    return out


def _check(out: dict[str, Any], index: Path) -> None:
    assert out["tools"] == ["article", "ask", "search", "timeline"]
    answer = Answer.model_validate(out["ask"].structured_content)  # the REST API's own model
    assert answer.date == "2024-01-20" and answer.citations
    assert Answer.model_validate(out["as_of"].structured_content).date == "2020-01-08"
    archive = Archive.open(index, create=False)
    for citation in answer.citations:  # every quote an exact span of its article
        assert archive.article(citation.article_id).text[citation.start : citation.end] == citation.quote
    timeline = Timeline.model_validate(out["timeline"].structured_content)
    assert {"2020-01-08", "2024-01-20"} <= {e.date for e in timeline.events}
    results = out["search"].structured_content["results"]
    assert results and all(r["published"] >= "2024-01-01" for r in results)
    article = out["article"].structured_content
    first = answer.citations[0]
    assert article["text"][first.start : first.end] == first.quote
    assert out["missing"].is_error and "no article with id" in out["missing"].content[0].text
    assert out["bad_date"].is_error and "as_of" in out["bad_date"].content[0].text
    # The text an agent without structured output reads is the same JSON.
    assert json.loads(out["ask"].content[0].text)["date"] == "2024-01-20"


def test_mcp_over_stdio(index: Path) -> None:
    from mcp.client.stdio import StdioServerParameters

    assert DATELINE
    out = anyio.run(_session, StdioServerParameters(command=DATELINE, args=["mcp", "--index", str(index)]))
    _check(out, index)


@pytest.fixture
def http_server(index: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert DATELINE
    process = subprocess.Popen(
        [DATELINE, "mcp", "--http", "--port", str(port), "--index", str(index)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while True:  # until the server accepts connections (what it does once it listens), or gives up
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "dateline mcp --http did not listen"
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}/mcp"
    process.terminate()
    process.wait(20)


def test_mcp_over_streamable_http(http_server: str, index: Path) -> None:
    _check(anyio.run(_session, http_server), index)
