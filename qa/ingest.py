"""Readers: turn files into ``Article`` records, reporting each bad record with its file and line.

Formats: JSON Lines (``.jsonl``, ``.jsonl.gz``, read streaming), JSON (an object or a list),
Markdown with YAML front matter, plain text (title on the first line, a byline/date line near the
top), HTML (text and metadata by trafilatura), and web archives and feeds (WARC, RSS, Atom: see
``qa.web``). Folders are read recursively.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from qa.dates import parse_date
from qa.errors import DatelineError, ReaderError
from qa.models import Article, IngestError, PassedOver

ReadResult = Article | IngestError | PassedOver

#: Limits on one record: a title or URL this long, or a text this long, is not an article.
MAX_FIELD_CHARS = 4_000
MAX_TEXT_CHARS = 5_000_000

#: Web archives and feeds, read by ``qa.web``.
WARC_SUFFIXES = (".warc", ".warc.gz")
FEED_SUFFIXES = (".rss", ".atom", ".xml")
_SUFFIXES = (".jsonl.gz", ".jsonl", ".ndjson", ".json", ".md", ".markdown", ".txt", ".html", ".htm", *WARC_SUFFIXES, *FEED_SUFFIXES)
_BYLINE = re.compile(
    r"^\s*By\s+(?P<who>.+?)(?:[,|\s]+(?P<date>(?:[A-Z][a-z]+\.?\s+\d{1,2},?\s+\d{4}|\d{1,2}\s+[A-Z][a-z]+\.?\s+\d{4}|\d{4}-\d\d-\d\d).*))?$"
)
_DATE_LINE = re.compile(
    r"^\s*(?:Published|Updated|Date)?:?\s*(?P<date>(?:\w+,?\s+)?(?:[A-Z][a-z]+\.?\s+\d{1,2},?\s+\d{4}|\d{1,2}\s+[A-Z][a-z]+\.?\s+\d{4}|\d{4}-\d\d-\d\d)\b.*)$"
)


def article_id(given: object, url: str, text: str) -> str:
    """Stable id: the given one, else a hash of the URL, else a hash of the text."""
    if given not in (None, ""):
        return str(given)
    basis = url or text
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


def is_url(source: str | Path) -> bool:
    """Whether a source is given by an http(s) URL (a feed) rather than a path."""
    return str(source).lower().startswith(("http://", "https://"))


def source_of(url: str) -> str:
    """A source name from a URL's host: ``https://www.reuters.com/x`` -> ``reuters.com``."""
    host = urlparse(url).hostname or ""
    return host.removeprefix("www.")


def build_article(record: dict[str, Any]) -> Article:
    """Validate one record (from any reader) into an ``Article``; raises ``DatelineError`` with the reason."""
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DatelineError("missing or empty 'text'")
    fields = {}
    for name in ("url", "title", "source"):
        value = record.get(name) or ""
        if not isinstance(value, str):
            raise DatelineError(f"'{name}' must be a string, got {type(value).__name__}")
        if len(value) > MAX_FIELD_CHARS:
            raise DatelineError(f"'{name}' is longer than {MAX_FIELD_CHARS} characters")
        fields[name] = value.strip()
    if len(text) > MAX_TEXT_CHARS:
        raise DatelineError(f"'text' is longer than {MAX_TEXT_CHARS} characters; split the article")
    authors = record.get("authors", record.get("author")) or []
    if isinstance(authors, str):
        authors = [authors]
    if not isinstance(authors, list) or not all(isinstance(a, str) and len(a) <= MAX_FIELD_CHARS for a in authors):
        raise DatelineError("'authors' must be a list of strings")
    if record.get("id") is not None and not isinstance(record.get("id"), (str, int)):
        raise DatelineError(f"'id' must be a string, got {type(record.get('id')).__name__}")
    published = parse_date(record.get("published", record.get("date")), field="published")
    return Article(
        id=article_id(record.get("id"), fields["url"], text),
        url=fields["url"],
        title=fields["title"],
        source=fields["source"] or source_of(fields["url"]),
        published=published,
        authors=[a.strip() for a in authors if a.strip()],
        text=text,
    )


def read_paths(paths: Iterable[str | Path]) -> Iterator[ReadResult]:
    """Every article (or record error, or record passed over) under ``paths``, files in sorted
    order; a feed may be given by its URL.

    >>> next(read_paths(["corpus"])).id  # doctest: +SKIP
    'al-asad-2020-01-08'
    """
    for path in paths:
        if is_url(path):
            from qa.web import read_feed

            yield from read_feed(str(path))
            continue
        path = Path(path)
        if not path.exists():
            raise ReaderError(f"{path}: no such file or folder")
        files = sorted(p for p in path.rglob("*") if p.is_file() and _readable_name(p.relative_to(path))) if path.is_dir() else [path]
        for file in files:
            yield from read_file(file)


def _readable_name(path: Path) -> bool:
    return not any(part.startswith(".") for part in path.parts) and path.name.lower().endswith(_SUFFIXES)


def read_file(path: Path) -> Iterator[ReadResult]:
    """Articles of one file; a file that cannot be read at all gives one ``IngestError``."""
    name = path.name.lower()
    if name.endswith(WARC_SUFFIXES + FEED_SUFFIXES):
        from qa.web import read_web

        yield from read_web([path])
        return
    try:
        if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
            yield from _read_jsonl(path)
            return
        raw = path.read_bytes()
        if b"\x00" in raw[:4096]:
            raise DatelineError("binary file, not text")
        content = raw.decode("utf-8")
        if name.endswith(".json"):
            yield from _read_json(path, content)
        elif name.endswith((".md", ".markdown")):
            yield build_article(_markdown_record(content))
        elif name.endswith((".html", ".htm")):
            yield build_article(_html_record(content))
        elif name.endswith(".txt"):
            yield build_article(_text_record(content))
        else:
            raise DatelineError(f"unknown file type (expected one of {', '.join(_SUFFIXES)})")
    except UnicodeDecodeError as exc:
        yield IngestError(path=str(path), line=None, reason=f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    except DatelineError as exc:
        yield IngestError(path=str(path), line=getattr(exc, "line", None), reason=str(exc))
    except OSError as exc:
        yield IngestError(path=str(path), line=None, reason=f"cannot read: {exc.strerror or exc}")


def _read_jsonl(path: Path) -> Iterator[ReadResult]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as stream:  # type: ignore[operator]
        for number, raw in enumerate(stream, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield IngestError(path=str(path), line=number, reason=f"not UTF-8 text ({exc.reason})")
                continue
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield IngestError(path=str(path), line=number, reason=f"bad JSON: {exc.msg} at column {exc.colno}")
                continue
            yield _from_record(record, path, number)


def _read_json(path: Path, content: str) -> Iterator[ReadResult]:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise _located(f"bad JSON: {exc.msg}", exc.lineno) from None
    records = data if isinstance(data, list) else [data]
    for number, record in enumerate(records, start=1):
        yield _from_record(record, path, number if isinstance(data, list) else None)


def read_records(records: Iterable[object], origin: str) -> Iterator[ReadResult]:
    """Articles from already-parsed JSON objects (an HTTP batch, say); errors name ``origin`` and the record number."""
    for number, record in enumerate(records, start=1):
        yield _from_record(record, origin, number)


def _from_record(record: object, path: Path | str, line: int | None) -> ReadResult:
    if not isinstance(record, dict):
        return IngestError(path=str(path), line=line, reason=f"expected a JSON object, got {type(record).__name__}")
    try:
        return build_article(record)
    except DatelineError as exc:
        return IngestError(path=str(path), line=line, reason=str(exc))


def _located(reason: str, line: int | None) -> DatelineError:
    error = DatelineError(reason)
    error.line = line  # type: ignore[attr-defined]
    return error


def _markdown_record(content: str) -> dict[str, Any]:
    import frontmatter
    import yaml

    try:
        post = frontmatter.loads(content)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise _located(f"bad YAML front matter: {getattr(exc, 'problem', exc)}", mark.line + 2 if mark else 1) from None
    except RecursionError:
        raise _located("front matter nested too deeply", 1) from None
    record: dict[str, Any] = {k: v for k, v in post.metadata.items() if isinstance(k, str)}
    text = post.content
    if not record.get("title"):
        heading = re.match(r"\s*#\s+(.+)\n", text)
        if heading:
            record["title"] = heading.group(1).strip()
    if isinstance(record.get("published"), (list, dict)) or isinstance(record.get("date"), (list, dict)):
        raise _located("'published' must be a date", 1)
    record["text"] = text
    return record


def _text_record(content: str) -> dict[str, Any]:
    lines = content.splitlines(keepends=True)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise DatelineError("empty file")
    record: dict[str, Any] = {"title": lines[first].strip()}
    body_from = first + 1
    for i in range(first + 1, min(len(lines), first + 10)):
        line = lines[i].strip()
        byline = _BYLINE.match(line)
        dated = byline if byline and byline.group("date") else _DATE_LINE.match(line)
        if byline:
            record["authors"] = [byline.group("who").strip()]
        if dated:
            record["published"] = dated.group("date").strip()
            body_from = i + 1
            break
    record["text"] = "".join(lines[body_from:]).strip("\n") or "".join(lines[first:])
    return record


def _html_record(content: str) -> dict[str, Any]:
    record = extract_html(content)
    if record is None:
        raise DatelineError("no article text found in the HTML")
    return record


def extract_html(content: str | bytes, url: str = "", guess_dates: bool = True) -> dict[str, Any] | None:
    """Title, text, publication date, authors, site name and canonical URL of a page (trafilatura);
    None when the page holds no article text. Without ``guess_dates`` the date comes from the
    page's metadata only, not from dates in its text (for a caller that knows a better one)."""
    import trafilatura

    dates = None if guess_dates else {"extensive_search": False, "original_date": True}
    document = trafilatura.bare_extraction(
        content, url=url or None, with_metadata=True, include_comments=False, date_extraction_params=dates
    )
    if document is None or not getattr(document, "text", None):
        return None
    text = document.text
    title = document.title or ""
    if title and text.startswith(title + "\n"):
        text = text[len(title) + 1 :]  # trafilatura repeats the headline as the first line
    return {
        "title": title,
        "url": document.url or url,
        "source": document.sitename or "",
        "published": document.date,
        "authors": [a.strip() for a in (document.author or "").split(";") if a.strip()],
        "text": text,
    }
