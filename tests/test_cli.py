"""The `dateline` command through its real entry point, in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CORPUS, HEADLINE, ROOT

DATELINE = shutil.which("dateline", path=str(ROOT / ".venv" / "bin")) or shutil.which("dateline")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert DATELINE, "the dateline console script is not installed (pip install -e .)"
    return subprocess.run([DATELINE, *args], capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    batch = folder / "batch.jsonl"
    good = {
        "id": "cli-1",
        "title": "Solar panels on every school",
        "published": "2023-05-02",
        "text": "The city put solar panels on schools on Monday.",
    }
    batch.write_text(json.dumps(good) + "\n{broken\n" + json.dumps({"id": "cli-2", "text": "   "}) + "\n")
    index = folder / "index"
    result = run("ingest", str(CORPUS / "iraq"), str(batch), "--index", str(index), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["articles_added"] == 12
    assert [(Path(e["path"]).name, e["line"]) for e in report["errors"]] == [("batch.jsonl", 2), ("batch.jsonl", 3)]
    assert report["chunks"] >= 12
    return index


def test_ask_json_has_date_and_citations(cli_index: Path) -> None:
    result = run("ask", HEADLINE, "--index", str(cli_index), "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["date"] == "2024-01-20"
    assert {"article_id", "url", "title", "published", "source", "quote", "start", "end"} <= set(answer["citations"][0])
    as_of = json.loads(run("ask", HEADLINE, "--as-of", "2023-06-01", "--index", str(cli_index), "--json").stdout)
    assert as_of["date"] == "2020-01-08"


def test_human_output_shows_answer_and_quotes(cli_index: Path) -> None:
    result = run("ask", HEADLINE, "--index", str(cli_index))
    assert "January 20, 2024" in result.stdout and "\u201c" in result.stdout


def test_search_timeline_and_stats(cli_index: Path) -> None:
    results = json.loads(run("search", "solar panels on schools", "--index", str(cli_index), "--json", "-k", "3").stdout)["results"]
    assert results[0]["article_id"] == "cli-1"
    filtered = json.loads(run("search", "missiles", "--since", "2024-01-01", "--index", str(cli_index), "--json").stdout)["results"]
    assert filtered and all(r["published"] >= "2024-01-01" for r in filtered)
    events = json.loads(run("timeline", "Ain al-Asad hit by ballistic missiles", "--index", str(cli_index), "--json").stdout)["events"]
    assert [e["date"] for e in events] == sorted(e["date"] for e in events)
    assert {"date", "precision", "quote", "citations"} <= set(events[0])
    stats = json.loads(run("stats", "--index", str(cli_index), "--json").stdout)
    assert stats["articles"] == 12 and stats["chunks"] >= 12


def test_reingest_skips_everything(cli_index: Path) -> None:
    report = json.loads(run("ingest", str(CORPUS / "iraq"), "--index", str(cli_index), "--json").stdout)
    assert (report["articles_added"], report["articles_skipped"], report["chunks"]) == (0, 11, 0)


def test_errors_a_person_can_act_on(cli_index: Path, tmp_path: Path) -> None:
    missing = run("stats", "--index", str(tmp_path / "none"))
    assert missing.returncode == 2 and "dateline ingest" in missing.stderr
    bad_date = run("search", "x", "--since", "someday", "--index", str(cli_index))
    assert bad_date.returncode == 2 and "since" in bad_date.stderr
    unreadable = run("ingest", str(tmp_path / "nope.jsonl"), "--index", str(tmp_path / "i"))
    assert unreadable.returncode == 2 and "no such file" in unreadable.stderr
    (tmp_path / "all-bad.jsonl").write_text("{oops\n")
    nothing = run("ingest", str(tmp_path / "all-bad.jsonl"), "--index", str(tmp_path / "i2"), "--json")
    assert nothing.returncode == 1 and json.loads(nothing.stdout)["errors"][0]["line"] == 1
