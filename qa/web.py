"""Web sources: web archives (WARC) and news feeds (RSS, Atom), read into articles.

A WARC file is read as a stream, one record at a time (FastWARC: on this machine it parsed
``.warc.gz`` about 2.5 times and ``.warc`` about 5 times as fast as warcio; ``bench/ingest.py
--warc``). Each HTML response becomes an article through trafilatura; what is not an article
(requests, redirects, errors, images, pages without article text) is passed over and counted
by reason; a corrupt or truncated record is an ``IngestError`` with the file and byte offset, and
reading resumes at the next record.

A feed's items are read with feedparser; each item's page is fetched (a few at a time, with
timeouts, robots.txt respected and our User-Agent) and extracted as above; the feed's own
content stands in when the page cannot be had, and its dates and authors fill what the page lacks.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlparse
from urllib.robotparser import RobotFileParser

from qa.errors import DatelineError
from qa.ingest import WARC_SUFFIXES, ReadResult, build_article, extract_html, is_url
from qa.models import Article, IngestError, PassedOver

HTML_TYPES = ("text/html", "application/xhtml+xml")
#: A record's block larger than this is passed over unread: no news page is this large.
MAX_RECORD_BYTES = 20_000_000
#: A page with fewer words than this is a section front, a gallery or an error page, not an article.
MIN_PAGE_WORDS = 15
USER_AGENT = "Dateline/0.1 (news archive indexer; +https://github.com/dateline-news/dateline)"


# ---- WARC ------------------------------------------------------------------------------------


def read_warc(path: Path) -> Iterator[ReadResult]:
    """Every article (and every record passed over or broken) of one WARC file, in file order.

    After a broken record, reading resumes at the next record start found in the bytes (a gzip
    member's header in a ``.warc.gz``, a ``WARC/1.x`` line in a ``.warc``)."""
    from fastwarc.warc import ArchiveIterator

    compressed = path.name.lower().endswith(".gz")
    name = str(path)
    with open(path, "rb") as stream:
        start: int | None = 0
        pending: IngestError | None = None  # bytes that were no record, reported once we know where they end
        while start is not None:
            stream.seek(start)
            current: int | None = None  # the record whose block is being read
            last_good: int | None = None
            try:
                for record in ArchiveIterator(stream, parse_http=False):
                    current = record.stream_pos
                    result = _warc_record(path, current, record)
                    current = None
                    if pending is not None:
                        yield pending
                        pending = None
                    last_good = record.stream_pos
                    yield result
                if pending is not None:
                    yield pending
                return
            except (OSError, ValueError) as exc:  # FastWARC's words for a broken gzip member or WARC header
                if current is not None:
                    broken = current  # its block could not be read
                elif last_good is None:
                    broken = start  # the first record read from `start` has a broken header
                else:
                    # The header after a good record is broken: read from the next record start on its own.
                    start = _next_record(stream, last_good + 1, compressed)
                    reason = f"corrupt data after the WARC record at this offset: {exc}"
                    pending = IngestError(path=name, line=None, offset=last_good, reason=reason)
                    if start is None:
                        yield pending
                    continue
                pending = None  # superseded: the broken record itself is reported
                yield IngestError(path=name, line=None, offset=broken, reason=f"corrupt WARC record: {exc}")
                start = _next_record(stream, broken + 1, compressed)


def _next_record(stream: BinaryIO, after: int, compressed: bool) -> int | None:
    """The offset of the next record start after ``after``: a gzip member's header in a
    ``.warc.gz``, a ``WARC/1.x`` line in a ``.warc``; None at the end of the file."""
    marker = b"\x1f\x8b\x08" if compressed else b"\nWARC/1."
    skip = 0 if compressed else 1
    stream.seek(after)
    offset = after
    tail = b""
    while chunk := stream.read(1 << 20):
        data = tail + chunk
        found = data.find(marker)
        if found >= 0:
            return offset - len(tail) + found + skip
        tail = data[-(len(marker) - 1) :]
        offset += len(chunk)
    return None


def _warc_record(path: Path, offset: int, record: Any) -> ReadResult:
    headers = record.headers
    kind = str(headers.get("WARC-Type", "") or "").lower()
    where = {"path": str(path), "offset": offset}
    if kind not in ("response", "resource"):
        return PassedOver(**where, reason=f"{kind or 'untyped'} record")
    length = record.content_length
    if length > MAX_RECORD_BYTES:
        return PassedOver(**where, reason="record over 20 MB")
    block = record.reader.read()
    if len(block) < length:
        return IngestError(path=str(path), line=None, offset=offset, reason=f"truncated WARC record: {len(block)} of {length} bytes")
    if headers.get("WARC-Truncated"):
        return PassedOver(**where, reason="truncated by the crawler")
    url = str(headers.get("WARC-Target-URI", "") or "").strip("<>")
    if kind == "response":
        try:
            status, http_headers, body = _parse_http(block)
        except DatelineError as exc:
            return IngestError(path=str(path), line=None, offset=offset, reason=str(exc))
        if 300 <= status < 400:
            return PassedOver(**where, reason="redirect")
        if status != 200:
            return PassedOver(**where, reason="HTTP error")
        content_type = http_headers.get("content-type", "")
    else:
        http_headers, body = {}, block
        content_type = str(headers.get("Content-Type", "") or "")
    if not _is_html(content_type, body):
        return PassedOver(**where, reason="not HTML")
    try:
        body = _decode_body(body, http_headers)
        return _page_article(body, url)
    except _NoText:
        return PassedOver(**where, reason="no article text")
    except DatelineError as exc:
        return IngestError(path=str(path), line=None, offset=offset, reason=str(exc))


def _parse_http(block: bytes) -> tuple[int, dict[str, str], bytes]:
    head, separator, body = block.partition(b"\r\n\r\n")
    if not separator:
        head, separator, body = block.partition(b"\n\n")
    lines = head.decode("latin-1").splitlines()
    status = re.match(r"HTTP/\d(?:\.\d)?\s+(\d{3})", lines[0]) if lines else None
    if not separator or status is None:
        raise DatelineError("response record without an HTTP status line and headers")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return int(status.group(1)), headers, body


def _is_html(content_type: str, body: bytes) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    if kind:
        return kind in HTML_TYPES
    start = body[:512].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html"))


def _decode_body(body: bytes, headers: dict[str, str]) -> bytes:
    """The page as the server meant it: chunked transfer and gzip, deflate or brotli encoding undone
    (crawlers store either the raw or the decoded body; a body that is not encoded is kept)."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    for coding in reversed([c.strip().lower() for c in headers.get("content-encoding", "").split(",") if c.strip()]):
        try:
            if coding in ("gzip", "x-gzip"):
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS) if body[:2] == b"\x1f\x8b" else body
            elif coding == "deflate":
                body = _inflate(body)
            elif coding == "br":
                import brotli

                body = brotli.decompress(body)
        except Exception as exc:  # zlib.error, brotli.error, or a body that is not what the header says
            raise DatelineError(f"cannot undo the page's {coding} encoding: {exc}") from None
    return body


def _inflate(body: bytes) -> bytes:
    try:
        return zlib.decompress(body)
    except zlib.error:
        return zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate, as some servers send it


def _dechunk(body: bytes) -> bytes:
    out, at = bytearray(), 0
    while at < len(body):
        end = body.find(b"\r\n", at)
        if end < 0:
            break
        try:
            size = int(body[at:end].split(b";")[0].strip() or b"0", 16)
        except ValueError:
            return body  # already decoded by the crawler, though the header says chunked
        if size == 0:
            break
        out += body[end + 2 : end + 2 + size]
        at = end + 2 + size + 2
    return bytes(out)


class _NoText(Exception):
    pass


def _page_article(html: bytes | str, url: str, fallback: dict[str, Any] | None = None) -> Article:
    """An article from a page; ``fallback`` (what a feed says of it) fills what the page lacks."""
    record = extract_html(html, url, guess_dates=not (fallback or {}).get("published"))
    if record is None or len(record["text"].split()) < MIN_PAGE_WORDS:
        raise _NoText
    for name, value in (fallback or {}).items():
        if value and not record.get(name):
            record[name] = value
    record["url"] = record.get("url") or url
    return build_article(record)


# ---- feeds -----------------------------------------------------------------------------------


class FetchError(DatelineError):
    """A page that could not be had, with the HTTP status when there was one."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


@dataclass
class Fetcher:
    """HTTP GETs as a polite crawler makes them: our User-Agent, timeouts, robots.txt per host
    (cached), and at most ``concurrency`` pages at a time."""

    timeout: float = 15.0
    concurrency: int = 4
    user_agent: str = USER_AGENT
    max_bytes: int = MAX_RECORD_BYTES
    _robots: dict[str, RobotFileParser | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _origin_locks: dict[str, threading.Lock] = field(default_factory=dict)
    _client: Any = None

    def client(self) -> Any:
        import httpx

        if self._client is None:
            self._client = httpx.Client(
                timeout=self.timeout, follow_redirects=True, headers={"User-Agent": self.user_agent}, max_redirects=5
            )
        return self._client

    def get(self, url: str) -> tuple[bytes, dict[str, str], str]:
        """The body, headers and final URL of ``url``; raises ``DatelineError`` with the reason."""
        import httpx

        try:
            with self.client().stream("GET", url) as response:
                if response.status_code != 200:
                    raise FetchError(f"HTTP {response.status_code}", response.status_code)
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise FetchError("page over 20 MB")
                return bytes(body), {k.lower(): v for k, v in response.headers.items()}, str(response.url)
        except httpx.TimeoutException:
            raise FetchError(f"no answer within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch: {exc}") from None

    def allowed(self, url: str) -> bool:
        """Whether the host's robots.txt lets our User-Agent fetch ``url`` (yes when it has none)."""
        parts = urlparse(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            origin_lock = self._origin_locks.setdefault(origin, threading.Lock())
        with origin_lock:  # one fetch of robots.txt per host, however many pages wait for it
            if origin not in self._robots:
                robots: RobotFileParser | None = RobotFileParser()
                try:
                    body, _, _ = self.get(urljoin(origin, "/robots.txt"))
                    robots.parse(body.decode("utf-8", "replace").splitlines())  # type: ignore[union-attr]
                except FetchError as exc:
                    if exc.status is not None and 400 <= exc.status < 500:
                        robots = None  # no robots.txt: everything is allowed
                    else:  # the host cannot say (5xx, no answer): nothing is, this time (RFC 9309)
                        robots.disallow_all = True  # type: ignore[union-attr]
                self._robots[origin] = robots
        rules = self._robots[origin]
        return rules is None or rules.can_fetch(self.user_agent, url)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


@dataclass
class FeedItem:
    """One entry of a feed, with what the feed itself says about it."""

    link: str
    key: str
    title: str
    published: str | None
    authors: list[str]
    content: str


def feed_items(source: str | Path, fetcher: Fetcher) -> list[FeedItem]:
    """The entries of a feed given as a URL or a file; raises ``DatelineError`` if it is no feed."""
    import feedparser

    if is_url(source):
        raw, _, _ = fetcher.get(str(source))
    else:
        try:
            raw = Path(source).read_bytes()
        except OSError as exc:
            raise DatelineError(f"cannot read: {exc.strerror or exc}") from None
    parsed = feedparser.parse(raw)
    if not parsed.entries and (parsed.bozo or not parsed.feed):
        raise DatelineError(f"not an RSS or Atom feed ({parsed.get('bozo_exception', 'no entries')})")
    base = str(source) if is_url(source) else ""
    items = []
    for entry in parsed.entries:
        link = urljoin(base, entry.get("link", "")) if entry.get("link") else ""
        content = ""
        if entry.get("content"):
            content = entry.content[0].get("value", "")
        content = content or entry.get("summary", "")
        when = entry.get("published_parsed") or entry.get("updated_parsed")
        published = dt.datetime.fromtimestamp(calendar.timegm(when), dt.UTC).date().isoformat() if when else None
        authors = _authors(entry)
        items.append(
            FeedItem(
                link=link,
                key=entry.get("id") or link or entry.get("title", ""),
                title=entry.get("title", ""),
                published=published,
                authors=authors,
                content=content,
            )
        )
    return items


def _authors(entry: Any) -> list[str]:
    """Names of an entry's authors. RSS writes ``email (Name)``, which feedparser 6 splits wrongly."""
    raw = str(entry.get("author") or "").strip()
    named = re.fullmatch(r"\S+@\S+\s*\((.+)\)", raw)
    if named:
        return [named.group(1).strip()]
    if re.fullmatch(r"\S+@\S+", raw):
        return []  # an address is not a name
    names = [str(a.get("name", "")).strip() for a in entry.get("authors", []) if a.get("name")]
    return names or ([raw] if raw else [])


def read_feed(
    source: str | Path, fetcher: Fetcher | None = None, *, only: Callable[[FeedItem], bool] | None = None
) -> Iterator[ReadResult]:
    """The articles of a feed's items (those ``only`` keeps), in feed order; each item's page is
    fetched, the feed's own content standing in when it cannot be."""
    own = fetcher is None
    fetcher = fetcher or Fetcher()
    try:
        try:
            items = feed_items(source, fetcher)
        except DatelineError as exc:
            yield IngestError(path=str(source), line=None, reason=str(exc))
            return
        for _, record in item_records([i for i in items if only is None or only(i)], fetcher, str(source)):
            yield record
    finally:
        if own:
            fetcher.close()


def item_records(items: list[FeedItem], fetcher: Fetcher, name: str) -> Iterator[tuple[FeedItem, ReadResult]]:
    """Each item with what it gives, in feed order, fetching ``fetcher.concurrency`` pages at a time."""
    with ThreadPoolExecutor(max_workers=max(1, fetcher.concurrency)) as pool:
        results = pool.map(lambda item: _item_article(item, fetcher), items)
        for number, (item, result) in enumerate(zip(items, results, strict=True), start=1):
            if isinstance(result, str):
                yield item, PassedOver(path=name, reason=result)
            elif isinstance(result, DatelineError):
                yield item, IngestError(path=name, line=None, reason=f"item {number} ({item.link or item.title}): {result}")
            else:
                yield item, result


def _item_article(item: FeedItem, fetcher: Fetcher) -> Article | str | DatelineError:
    """The item's page as an article; else the feed's content; else why there is none."""
    fallback = {"title": item.title, "published": item.published, "authors": item.authors, "url": item.link}
    if item.link and is_url(item.link):
        try:
            if not fetcher.allowed(item.link):
                raise DatelineError("robots.txt disallows it")
            body, headers, final = fetcher.get(item.link)
            if _is_html(headers.get("content-type", ""), body):
                return _page_article(body, final, {**fallback, "url": ""})
        except (DatelineError, _NoText):
            pass  # the feed's own content, below
    text = _html_text(item.content)
    if not text:
        return "item without article text"
    try:
        return build_article({**fallback, "text": text, "id": None})
    except DatelineError as exc:
        return exc


def _html_text(fragment: str) -> str:
    """Plain text of a feed's HTML content, one paragraph a line."""
    if not fragment.strip():
        return ""
    import lxml.html

    try:
        root = lxml.html.fromstring(f"<div>{fragment}</div>")
    except (ValueError, lxml.etree.ParserError):
        return fragment.strip()
    for block in root.iter("p", "br", "li", "h1", "h2", "h3", "div"):
        block.tail = "\n" + (block.tail or "")
    return "\n".join(line.strip() for line in root.text_content().splitlines() if line.strip())


def read_web(paths: Iterable[str | Path], fetcher: Fetcher | None = None) -> Iterator[ReadResult]:
    """WARC files and feeds (files or URLs) among ``paths``, each read as its kind."""
    for path in paths:
        if is_url(path):
            yield from read_feed(str(path), fetcher)
        elif str(path).lower().endswith(WARC_SUFFIXES):
            yield from read_warc(Path(path))
        else:
            yield from read_feed(Path(path), fetcher)
