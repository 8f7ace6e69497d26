"""Crash-safe ingest: SIGKILL at random moments, Ctrl-C, then a re-run that completes exactly."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from qa import Archive
from tests.conftest import SHARED, needs_shared
from tests.test_cli import DATELINE, run

ARCHIVE = SHARED / "data" / "archive" / "news-2023-2025.jsonl.gz"


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "articles.jsonl"
    with gzip.open(ARCHIVE, "rt", encoding="utf-8") as source:
        path.write_text("".join(itertools.islice(source, 80)))
    return path


def _start(batch: Path, index: Path, **env: str) -> subprocess.Popen[str]:
    assert DATELINE
    command = [DATELINE, "ingest", str(batch), "--index", str(index), "--json"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ, **env})


def _consistent(index: Path) -> None:
    archive = Archive.open(index, create=False)
    problems = archive.verify()
    # Chunks of an article that was being written may remain, invisible; nothing committed is incomplete.
    assert not [p for p in problems if p.startswith("article")], problems
    for passage in archive.search("election results", k=5):
        assert archive.article(passage.article_id) is not None


@needs_shared(ARCHIVE)
def test_sigkill_at_random_moments_then_rerun_completes(batch: Path, tmp_path: Path) -> None:
    clean = json.loads(run("ingest", str(batch), "--index", str(tmp_path / "clean"), "--json").stdout)
    clean_stats = json.loads(run("stats", "--index", str(tmp_path / "clean"), "--json").stdout)
    index = tmp_path / "killed"
    rng = random.Random(20240120)
    for _ in range(3):
        process = _start(batch, index)
        time.sleep(rng.uniform(4.0, 14.0))  # past model loading, somewhere inside encoding and writing
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        if (index / "chroma.sqlite3").exists():
            _consistent(index)
    final = json.loads(run("ingest", str(batch), "--index", str(index), "--json").stdout)
    assert final["articles_added"] + final["articles_skipped"] + final["articles_updated"] == clean["articles_added"]
    assert json.loads(run("stats", "--index", str(index), "--json").stdout) == clean_stats
    assert Archive.open(index, create=False).verify() == []


def wait_for_sentences_db(index: Path, process: subprocess.Popen[str], query: str, what: str, seconds: float = 300.0) -> None:
    """Until ``query`` on the index's ``sentences.sqlite3`` returns a true first value (``what`` has
    happened). Read-only, so the ingest is not disturbed; fails if the process ends first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the ingest ended before {what}"
        try:
            with sqlite3.connect(f"file:{index / 'sentences.sqlite3'}?mode=ro", uri=True, timeout=1) as db:
                row = db.execute(query).fetchone()
            if row and row[0]:
                return
        except sqlite3.Error:
            pass  # not created yet
        time.sleep(0.1)  # polling what the process writes, not guessing how long it takes
    raise AssertionError(f"not {what} within {seconds:.0f} s")


def _wait_for_first_batch(index: Path, process: subprocess.Popen[str]) -> None:
    """Until the ingest has committed its first batch: the store's generation, counted up before and
    after every write (``qa.sentence_vectors``), reaches 2."""
    wait_for_sentences_db(index, process, "SELECT value >= 2 FROM state WHERE key = 'generation'", "its first batch was committed")


@needs_shared(ARCHIVE)
def test_ctrl_c_stops_cleanly_and_says_how_far(batch: Path, tmp_path: Path) -> None:
    index = tmp_path / "interrupted"
    # Small batches: about twenty of them, so when the first is committed most of the work is left.
    process = _start(batch, index, DATELINE_BATCH_CHUNKS="32")
    _wait_for_first_batch(index, process)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 130
    report = json.loads(out)
    assert report["interrupted"] is True
    stats = json.loads(run("stats", "--index", str(index), "--json").stdout)
    assert stats["articles"] == report["articles_added"]
    _consistent(index)


def test_vector_segments_never_persisted_are_rebuilt_from_chromas_log(tmp_path: Path) -> None:
    # What the repair on open relies on: a vector-segment folder without index_metadata.pickle holds
    # nothing that Chroma's write-ahead log does not, so removing it loses no passage.
    from qa.index import _drop_unpersisted_segments
    from tests.conftest import CORPUS

    index = tmp_path / "index"
    archive = Archive.open(index)
    archive.ingest([CORPUS / "iraq"])
    before = [(p.chunk_id, p.text) for p in archive.search("Al Asad Air Base ballistic missiles", k=5)]
    stats = archive.stats()
    del archive
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    assert _drop_unpersisted_segments(index)
    assert not [d for d in index.iterdir() if (d / "header.bin").exists()]  # every vector segment folder is gone
    reopened = Archive.open(index, create=False)
    assert [(p.chunk_id, p.text) for p in reopened.search("Al Asad Air Base ballistic missiles", k=5)] == before
    assert reopened.stats() == stats and reopened.verify() == []
