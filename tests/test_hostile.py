"""Hostile input: every bad record is reported with file, line and reason; the good ones are kept."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa import Archive
from qa.ingest import read_paths
from qa.models import Article, IngestError
from tests.conftest import SHARED, needs_shared

GOOD = st.builds(
    lambda n, title, text: {"id": f"good-{n}", "title": title, "published": "2024-01-21", "text": text},
    st.integers(0, 10**9),
    st.text(max_size=50),
    st.text(min_size=1, max_size=300).filter(str.strip),
)
ODD_TITLES = st.one_of(st.integers(1), st.dictionaries(st.text(), st.text(), min_size=1))
ODD_DATES = st.sampled_from(["9999-99-99", "0001-01-01", "31/31/31", "x" * 500, "yesterday-ish"])
BAD_LINES = st.one_of(
    st.just('{"id": "x", "text": "trunc'),
    st.just("[1, 2, 3]"),
    st.just('"just a string"'),
    st.builds(lambda t: json.dumps({"id": "b", "text": t}), st.sampled_from(["", "   ", "\n"])),
    st.builds(lambda v: json.dumps({"id": "b", "text": v}), st.one_of(st.integers(), st.lists(st.integers()), st.none(), st.booleans())),
    st.builds(lambda v: json.dumps({"id": "b", "text": "ok", "title": v}), ODD_TITLES),
    st.builds(lambda d: json.dumps({"id": "b", "text": "ok", "published": d}), ODD_DATES),
    st.builds(lambda: json.dumps({"id": "b", "text": "ok", "title": "T" * 5000})),
    st.builds(lambda: json.dumps({"id": "b", "text": "ok", "authors": 7})),
    st.builds(lambda: json.dumps({"id": {"nested": 1}, "text": "ok"})),
    st.just("<html><body>not json</body></html>"),
)  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(GOOD.map(lambda r: ("good", json.dumps(r))), BAD_LINES.map(lambda line: ("bad", line))), max_size=25))
def test_each_bad_jsonl_line_is_reported_and_good_ones_read(tmp_path: Path, lines: list[tuple[str, str]]) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(line for _, line in lines) + "\n")
    results = list(read_paths([path]))
    errors = [r for r in results if isinstance(r, IngestError)]
    assert [e.line for e in errors] == [i for i, (kind, _) in enumerate(lines, start=1) if kind == "bad"]
    assert all(e.path == str(path) and e.reason for e in errors)
    assert len([r for r in results if isinstance(r, Article)]) == sum(kind == "good" for kind, _ in lines)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=2000), suffix=st.sampled_from([".txt", ".md", ".html", ".json", ".jsonl"]))
def test_arbitrary_bytes_never_raise(tmp_path: Path, payload: bytes, suffix: str) -> None:
    path = tmp_path / f"blob{suffix}"
    path.write_bytes(payload)
    for result in read_paths([path]):
        assert isinstance(result, (Article, IngestError))


def test_non_utf8_line_and_deep_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "bytes.jsonl"
    path.write_bytes(json.dumps({"id": "a", "text": "fine"}).encode() + b"\n" + b'{"id": "b", "text": "caf\xe9"}\n')
    assert [(type(r).__name__, getattr(r, "line", None)) for r in read_paths([path])] == [("Article", None), ("IngestError", 2)]
    deep = tmp_path / "deep.md"
    deep.write_text("---\nx: " + "[" * 5000 + "]" * 5000 + "\n---\nText.\n")
    (result,) = read_paths([deep])
    assert isinstance(result, IngestError)


@needs_shared(SHARED / "data" / "archive" / "news-2023-2025.jsonl.gz")
def test_five_malformed_lines_among_sixty_real_articles(tmp_path: Path) -> None:
    with gzip.open(SHARED / "data" / "archive" / "news-2023-2025.jsonl.gz", "rt", encoding="utf-8") as source:
        real = [line.rstrip("\n") for line in itertools.islice(source, 60)]
    broken = {7: real[7][: len(real[7]) // 2], 19: json.dumps({**json.loads(real[19]), "text": ""}),
              33: json.dumps({**json.loads(real[33]), "published": "the 45th of Nevember"}), 41: "\x00\x01garbage",
              58: json.dumps({**json.loads(real[58]), "authors": {"name": 1}})}  # fmt: skip
    lines = [broken.get(i, line) for i, line in enumerate(real)]
    path = tmp_path / "sixty.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = Archive.open(tmp_path / "index").ingest([path])
    assert sorted(e.line for e in report.errors) == [i + 1 for i in sorted(broken)]
    assert report.articles_added == 55
