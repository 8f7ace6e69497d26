"""Readers: every format, stable ids, and bad records reported with file and line."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

from qa.errors import ReaderError
from qa.ingest import read_paths
from qa.models import Article, IngestError
from tests.conftest import CORPUS, SEED, needs_shared


def _articles(results: list) -> list[Article]:
    return [r for r in results if isinstance(r, Article)]


def _errors(results: list) -> list[IngestError]:
    return [r for r in results if isinstance(r, IngestError)]


def test_jsonl_reports_each_bad_line_and_keeps_the_rest(tmp_path: Path) -> None:
    good = {"id": "a1", "url": "https://www.example.org/a1", "title": "T", "published": "2024-01-21", "authors": ["X"], "text": "Body."}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "id": "a2", "text": ""}),
        json.dumps({**good, "id": "a3", "published": "the day after never"}),
        "",
        json.dumps({**good, "id": "a4", "authors": [1, 2]}),
        json.dumps([1, 2]),
        json.dumps({**good, "id": "a5"}),
    ]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines) + "\n")
    results = list(read_paths([path]))
    assert [a.id for a in _articles(results)] == ["a1", "a5"]
    assert [(e.path, e.line) for e in _errors(results)] == [(str(path), n) for n in (2, 3, 4, 6, 7)]
    assert "text" in _errors(results)[1].reason
    assert "published" in _errors(results)[2].reason
    first = _articles(results)[0]
    assert first.published == dt.date(2024, 1, 21)
    assert first.source == "example.org"  # from the URL when no source is given


def test_gzipped_jsonl_is_read_streaming(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.gz"
    with gzip.open(path, "wt") as out:
        out.write(json.dumps({"url": "https://x.org/1", "title": "T", "text": "One."}) + "\n")
    (article,) = read_paths([path])
    assert isinstance(article, Article)
    assert article.published is None


def test_ids_are_given_else_url_hash_else_content_hash() -> None:
    from qa.ingest import article_id

    assert article_id("given", "https://x.org", "t") == "given"
    assert article_id(None, "https://x.org", "t") == article_id("", "https://x.org", "other text")
    assert article_id(None, "", "t") != article_id(None, "", "u")


@needs_shared(SEED)
def test_seed_text_file_gives_title_byline_and_date() -> None:
    (article,) = read_paths([SEED])
    assert isinstance(article, Article)
    assert article.title.startswith("Iranian-backed militants fired ballistic missiles")
    assert article.published == dt.date(2024, 1, 21)
    assert article.authors == ["bne IntelliNews"]
    assert "Ain al-Asad" in article.text
    assert not article.text.startswith("By bne")


def test_markdown_front_matter_and_bad_yaml(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("---\ntitle: A title\npublished: 2021-03-03\nsource: S\n---\nRockets hit the base.\n")
    (tmp_path / "bad.md").write_text("---\ntitle: [unclosed\npublished: 2021\n---\nText.\n")
    (tmp_path / "nested.md").write_text("---\npublished: {a: {b: 1}}\n---\nText.\n")
    results = list(read_paths([tmp_path]))
    (good,) = _articles(results)
    assert (good.title, good.published, good.source) == ("A title", dt.date(2021, 3, 3), "S")
    errors = {Path(e.path).name: e for e in _errors(results)}
    assert set(errors) == {"bad.md", "nested.md"}
    assert "YAML" in errors["bad.md"].reason and errors["bad.md"].line is not None


def test_html_text_and_metadata() -> None:
    (article,) = read_paths([CORPUS / "iraq" / "2020-01-17-al-assad-concussions.html"])
    assert isinstance(article, Article)
    assert article.published == dt.date(2020, 1, 17)
    assert article.title == "Troops treated for concussion symptoms after al-Assad attack"
    assert article.url.endswith("/al-assad-concussions")
    assert "Home" not in article.text  # navigation is not article text
    assert "Eleven US service members" in article.text


def test_binary_non_utf8_and_unknown_files_are_reported(tmp_path: Path) -> None:
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 news\nBy X January 2, 2020\nText".encode("latin-1"))
    (tmp_path / "ok.txt").write_text("Title\n\nBody text.\n")
    results = list(read_paths([tmp_path]))
    assert [a.title for a in _articles(results)] == ["Title"]
    reasons = {Path(e.path).name: e.reason for e in _errors(results)}
    assert "binary" in reasons["blob.txt"] and "UTF-8" in reasons["latin1.txt"]
    with pytest.raises(ReaderError):
        list(read_paths([tmp_path / "missing"]))
    with open(tmp_path / "notes.xyz", "w") as out:
        out.write("x")
    assert "unknown file type" in _errors(list(read_paths([tmp_path / "notes.xyz"])))[0].reason


def test_bundled_corpus_reads_cleanly_in_every_format() -> None:
    results = list(read_paths([CORPUS]))
    assert not _errors(results)
    articles = _articles(results)
    assert len(articles) >= 30
    assert len({a.id for a in articles}) == len(articles)
    assert all(a.published is not None and a.title for a in articles)
    suffixes = {p.suffix for p in CORPUS.rglob("*") if p.is_file()}
    assert {".md", ".txt", ".html", ".jsonl"} <= suffixes
