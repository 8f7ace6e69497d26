"""Web archives and feeds: WARC files made here with warcio, feeds and pages served on loopback."""

from __future__ import annotations

import gzip
import html
import io
import json
import threading
import zlib
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from qa import Archive, Article
from qa.ingest import read_paths
from qa.models import IngestError, PassedOver
from qa.web import USER_AGENT, Fetcher, read_feed, read_warc
from tests.conftest import CORPUS, HEADLINE
from tests.test_cli import run

IRAQ = sorted(
    (
        a if a.url else a.model_copy(update={"url": f"https://corpus.dateline.example/{a.id}"})  # every page has an address
        for a in read_paths([CORPUS / "iraq"])
        if isinstance(a, Article)
    ),
    key=lambda a: a.id,
)


def page(article: Article, *, dated: bool = True, byline: bool = True, url: str = "") -> bytes:
    """A news page as a site would serve it: navigation and footer around the article, metadata in the head."""
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in article.text.split("\n") if p.strip())
    meta = f'<meta property="article:published_time" content="{article.published_day}">' if dated else ""
    author = f'<meta name="author" content="{html.escape(", ".join(article.authors) or "Staff")}">' if byline else ""
    return (
        f"<!doctype html><html><head><title>{html.escape(article.title)}</title>{meta}{author}"
        f'<meta property="og:site_name" content="{html.escape(article.source or "Sample")}">'
        f'<link rel="canonical" href="{url or article.url}"></head><body><nav><a href="/">Home</a> | <a href="/world">World</a></nav>'
        f"<article><h1>{html.escape(article.title)}</h1>{paragraphs}</article><footer>All rights reserved.</footer></body></html>"
    ).encode()


def _response(writer: WARCWriter, url: str, body: bytes, status: str = "200 OK", headers: list[tuple[str, str]] | None = None) -> None:
    http = StatusAndHeaders(status, headers or [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))


def _chunked(body: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + 700]), body[i : i + 700]) for i in range(0, len(body), 700)) + b"0\r\n\r\n"


def write_warc(path: Path, *, compress: bool) -> dict[str, object]:
    """Corpus pages and hostile records; returns what a reader must find."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=compress)
    writer.write_record(writer.create_warcinfo_record(path.name, {"software": "tests"}))
    offsets = {}
    for article in IRAQ[:-2]:
        offsets[article.url] = buffer.tell()
        _response(writer, article.url, page(article))
        writer.write_record(writer.create_warc_record(article.url, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n")))
    # Stored the way some crawlers keep them: chunked and gzip-encoded.
    encoded = IRAQ[-2]
    _response(
        writer,
        encoded.url,
        _chunked(gzip.compress(page(encoded))),
        headers=[("Content-Type", "text/html"), ("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")],
    )
    _response(writer, "https://site.example/old", b"", status="301 Moved Permanently", headers=[("Location", "https://site.example/new")])
    _response(writer, "https://site.example/gone", b"<html><body>Not found</body></html>", status="404 Not Found")
    _response(writer, "https://site.example/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(200), headers=[("Content-Type", "image/png")])
    _response(writer, "https://site.example/", b"<html><body><nav><a href='/a'>A</a> <a href='/b'>B</a></nav></body></html>")
    broken_at = buffer.tell()
    _response(writer, "https://site.example/broken", page(IRAQ[0]))
    last = IRAQ[-1]
    after_broken = buffer.tell()
    _response(writer, last.url, page(last, dated=False, byline=False))
    truncated_at = buffer.tell()
    _response(writer, "https://site.example/cut", page(IRAQ[1]))
    data = bytearray(buffer.getvalue())
    # Corrupt the middle of one record (inside its gzip member, or its WARC header), cut the last one short.
    if compress:
        data[broken_at + 30 : broken_at + 90] = bytes(60)
    else:
        data[broken_at : broken_at + 8] = b"GARBAGE!"
    data = data[: truncated_at + (len(data) - truncated_at) // 2]
    path.write_bytes(bytes(data))
    return {"articles": [a.url for a in IRAQ], "broken_at": broken_at, "after_broken": after_broken, "truncated_at": truncated_at}


@pytest.mark.parametrize("compress", [True, False], ids=["warc.gz", "warc"])
def test_warc_pages_become_articles_and_hostile_records_are_counted(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / ("crawl.warc.gz" if compress else "crawl.warc")
    expected = write_warc(path, compress=compress)
    records = list(read_warc(path))
    articles = [r for r in records if isinstance(r, Article)]
    passed = Counter(r.reason for r in records if isinstance(r, PassedOver))
    errors = [r for r in records if isinstance(r, IngestError)]
    assert sorted(a.url for a in articles) == sorted(expected["articles"])  # every page, the one after the broken record too
    requests = len(IRAQ) - 2
    assert passed == {"warcinfo record": 1, "request record": requests, "redirect": 1, "HTTP error": 1, "not HTML": 1, "no article text": 1}
    assert len(errors) == 2 and all(e.path == str(path) for e in errors)
    broken, truncated = errors
    if compress:
        assert broken.offset == expected["broken_at"] and "corrupt" in broken.reason
    else:  # its header is gone, so the error is placed after the record before it
        assert broken.offset is not None and broken.offset < expected["broken_at"] and "corrupt" in broken.reason
    assert truncated.offset == expected["truncated_at"] and "truncated" in truncated.reason
    by_url = {a.url: a for a in articles}
    for original in IRAQ:
        read = by_url[original.url]
        assert read.title == original.title
        assert " ".join(original.text.split()[:12]) in " ".join(read.text.split())
    assert by_url[IRAQ[0].url].published_day == IRAQ[0].published_day
    assert by_url[IRAQ[0].url].source == (IRAQ[0].source or "Sample")
    assert by_url[IRAQ[-2].url].text.split()[:5] == IRAQ[-2].text.split()[:5]  # dechunked and gunzipped


def test_dateline_ingest_reads_a_warc_and_reports_offsets(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    write_warc(path, compress=True)
    result = run("ingest", str(path), "--index", str(tmp_path / "index"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["articles_added"] == len(IRAQ)
    assert report["passed_over"]["redirect"] == 1 and report["passed_over"]["not HTML"] == 1
    assert sorted(e["offset"] is not None for e in report["errors"]) == [True, True]
    answer = json.loads(run("ask", HEADLINE, "--index", str(tmp_path / "index"), "--json").stdout)
    assert answer["date"] == "2024-01-20"


# ---- feeds, on a server of our own on loopback --------------------------------------------------


class Site:
    """Pages, feeds and a robots.txt served on 127.0.0.1; records every request and how many ran at once."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, bytes]] = {}
        self.requests: list[tuple[str, str]] = []
        self.active = 0
        self.most_active = 0
        self.lock = threading.Lock()
        self.release = threading.Event()  # a page marked slow waits for this (set when the test is done)
        self.overlap = threading.Event()  # set once two requests run at once
        self.hold_stories = False
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with site.lock:
                    site.requests.append((self.path, self.headers.get("User-Agent", "")))
                    site.active += 1
                    site.most_active = max(site.most_active, site.active)
                    if site.active >= 2:
                        site.overlap.set()
                try:
                    status, kind, body = site.routes.get(self.path, (404, "text/plain", b"not here"))
                    if kind == "slow":
                        site.release.wait(30)
                        status, kind = 200, "text/html"
                    elif self.path.startswith("/story") and site.hold_stories:
                        site.overlap.wait(10)  # a story answers once another is being fetched too (or never will be)
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with site.lock:
                        site.active -= 1

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    served = Site()
    yield served
    served.close()


def rss(site: Site, items: list[tuple[str, str, str, str]]) -> bytes:
    """An RSS 2.0 feed: (path, title, pubDate, description) per item."""
    entries = "".join(
        f"<item><title>{html.escape(title)}</title><link>{site.url}{path}</link><guid>{site.url}{path}</guid>"
        f"<pubDate>{date}</pubDate><author>desk@site.example (Desk Editor)</author><description>{html.escape(text)}</description></item>"
        for path, title, date, text in items
    )
    channel = f"<title>Sample</title><link>{site.url}/</link>{entries}"
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{channel}</channel></rss>'.encode()


def serve_corpus(site: Site, count: int) -> list[tuple[str, str, str, str]]:
    items = []
    for number, article in enumerate(IRAQ[:count]):
        path = f"/story/{number}.html"
        # Every other page states no date, not even in its address: the feed's date stands in.
        undated = number % 2 == 1
        site.routes[path] = (
            200,
            "text/html; charset=utf-8",
            page(article, dated=not undated, byline=False, url=site.url + path if undated else ""),
        )
        items.append((path, article.title, "Sun, 21 Jan 2024 09:00:00 GMT", article.text[:200]))
    return items


def test_rss_items_pages_fetched_politely_with_the_feed_as_fallback(site: Site, tmp_path: Path) -> None:
    items = serve_corpus(site, 6)
    site.routes["/robots.txt"] = (200, "text/plain", b"User-agent: *\nDisallow: /private/\n")
    memo = "A memo the site keeps from crawlers, on Jan. 22."
    items.append(("/private/memo.html", "Private memo", "Mon, 22 Jan 2024 10:00:00 GMT", memo))
    site.routes["/private/memo.html"] = (200, "text/html", page(IRAQ[0]))
    items.append(("/missing.html", "Missing page", "Tue, 23 Jan 2024 10:00:00 GMT", "<p>Only the feed <b>has</b> this text.</p>"))
    items.append(("/slow.html", "Slow page", "Wed, 24 Jan 2024 10:00:00 GMT", "The feed's own words about a slow page."))
    site.routes["/slow.html"] = (200, "slow", page(IRAQ[1]))
    items.append(("/empty.html", "Empty", "Wed, 24 Jan 2024 10:00:00 GMT", ""))
    site.routes["/feed.rss"] = (200, "application/rss+xml", rss(site, items))
    site.hold_stories = True
    fetcher = Fetcher(timeout=1.0, concurrency=3)
    records = list(read_feed(site.url + "/feed.rss", fetcher))
    articles = {a.title: a for a in records if isinstance(a, Article)}
    assert [r.reason for r in records if isinstance(r, PassedOver)] == ["item without article text"]
    assert not [r for r in records if isinstance(r, IngestError)]
    for number, article in enumerate(IRAQ[:6]):
        got = articles[article.title]
        assert got.text.split()[:30] == article.text.split()[:30]  # the page, not the feed's 200 characters
        # A page without its date takes the feed's; with one, its own.
        assert got.published_day == (article.published_day if number % 2 == 0 else "2024-01-21")
        assert got.authors == ["Desk Editor"]  # the page names none: the feed's
    assert articles["Private memo"].text == memo  # robots.txt kept us out
    assert articles["Missing page"].text == "Only the feed has this text."
    assert articles["Slow page"].text == "The feed's own words about a slow page."
    paths = [p for p, _ in site.requests]
    assert "/private/memo.html" not in paths and paths.count("/robots.txt") == 1
    assert {agent for _, agent in site.requests} == {USER_AGENT}
    assert 1 < site.most_active <= 3  # pages fetched in parallel, never more than asked


def test_atom_feed_from_a_file(tmp_path: Path, site: Site) -> None:
    article = IRAQ[0]
    site.routes["/a.html"] = (200, "text/html", page(article))
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:t</id>'
        f"<updated>2024-01-21T00:00:00Z</updated><entry><title>{html.escape(article.title)}</title><id>urn:1</id>"
        f'<link href="{site.url}/a.html"/><updated>2024-01-21T08:00:00Z</updated><author><name>Wire Desk</name></author>'
        "<summary>Summary.</summary></entry></feed>"
    )
    feed = tmp_path / "news.atom"
    feed.write_text(atom)
    (record,) = list(read_paths([feed]))
    assert isinstance(record, Article) and record.title == article.title and record.url == article.url
    not_a_feed = tmp_path / "notes.xml"
    not_a_feed.write_text("<notes><note>hello</note></notes>")
    (error,) = list(read_paths([not_a_feed]))
    assert isinstance(error, IngestError) and "not an RSS or Atom feed" in error.reason


def test_follow_adds_only_new_items_and_survives_a_restart(site: Site, tmp_path: Path) -> None:
    items = serve_corpus(site, 4)
    site.routes["/feed.rss"] = (200, "application/rss+xml", rss(site, items[:3]))
    feeds = tmp_path / "feeds.txt"
    feeds.write_text(f"# our wires\n{site.url}/feed.rss\n")
    index = tmp_path / "index"
    first = run("follow", str(feeds), "--index", str(index), "--json")
    assert first.returncode == 0, first.stderr
    (round_one,) = [json.loads(line) for line in first.stdout.splitlines()]
    assert round_one["new"] == 3 and round_one["report"]["articles_added"] == 3
    fetched = [p for p, _ in site.requests if p.startswith("/story/")]
    assert sorted(fetched) == sorted(p for p, *_ in items[:3])
    # The feed gains one item: the next round fetches that page only, and the archive has four articles.
    site.requests.clear()
    site.routes["/feed.rss"] = (200, "application/rss+xml", rss(site, items))
    second = run("follow", str(feeds), "--index", str(index))
    assert second.returncode == 0, second.stderr
    assert "1 new of 4: 1 added" in second.stdout and f"“{IRAQ[3].title}”" in second.stdout  # it says what it added
    assert [p for p, _ in site.requests if p.startswith("/story/")] == [items[3][0]]
    assert json.loads(run("stats", "--index", str(index), "--json").stdout)["articles"] == 4
    # Lost state costs fetches, never duplicates: everything is fetched again and found unchanged.
    (tmp_path / "feeds.txt.state.json").unlink()
    third = json.loads(run("follow", str(feeds), "--index", str(index), "--json").stdout)
    assert third["new"] == 4 and third["report"]["articles_skipped"] == 4 and third["report"]["articles_added"] == 0
    assert Archive.open(index, create=False).verify() == []


def test_bad_durations_and_lists_are_refused(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("# nothing yet\n\n")
    result = run("follow", str(feeds), "--index", str(tmp_path / "index"))
    assert result.returncode == 2 and "no feeds listed" in result.stderr
    feeds.write_text("http://127.0.0.1:9/feed.rss\n")
    result = run("follow", str(feeds), "--every", "soon", "--index", str(tmp_path / "index"))
    assert result.returncode == 2 and "--every 'soon'" in result.stderr


def test_deflate_and_gzip_bodies_are_undone() -> None:
    from qa.web import _decode_body

    body = b"<html><body><p>Hello</p></body></html>"
    assert _decode_body(gzip.compress(body), {"content-encoding": "gzip"}) == body
    assert _decode_body(zlib.compress(body), {"content-encoding": "deflate"}) == body
    raw = zlib.compressobj(wbits=-15)
    assert _decode_body(raw.compress(body) + raw.flush(), {"content-encoding": "deflate"}) == body
    assert _decode_body(body, {"content-encoding": "gzip"}) == body  # stored already decoded


def test_follow_every_polls_until_ctrl_c(site: Site, tmp_path: Path) -> None:
    import signal
    import subprocess

    from tests.test_cli import DATELINE

    items = serve_corpus(site, 2)
    site.routes["/feed.rss"] = (200, "application/rss+xml", rss(site, items[:1]))
    feeds = tmp_path / "feeds.txt"
    feeds.write_text(site.url + "/feed.rss\n")
    assert DATELINE
    command = [DATELINE, "follow", str(feeds), "--every", "1s", "--index", str(tmp_path / "index"), "--json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())  # each round prints a line per feed: wait on those
        assert first["new"] == 1 and first["report"]["articles_added"] == 1
        site.routes["/feed.rss"] = (200, "application/rss+xml", rss(site, items))
        while (line := json.loads(process.stdout.readline()))["new"] == 0:
            pass  # rounds before the feed changed
        assert line["new"] == 1 and line["report"]["articles_added"] == 1
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 130
    finally:
        process.kill()


def test_dateline_ingest_takes_a_feed_url(site: Site, tmp_path: Path) -> None:
    items = serve_corpus(site, 2)
    site.routes["/feed.rss"] = (200, "application/rss+xml", rss(site, items))
    result = run("ingest", site.url + "/feed.rss", "--index", str(tmp_path / "index"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["articles_added"] == 2
    missing = run("ingest", site.url + "/nothing.rss", "--index", str(tmp_path / "index"), "--json")
    assert missing.returncode == 1 and "HTTP 404" in json.loads(missing.stdout)["errors"][0]["reason"]
