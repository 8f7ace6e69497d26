"""Keeping an archive current from its feeds: ``dateline follow FEEDS.txt [--every 15m]``.

Each round reads every feed, fetches only the items it has not seen, and ingests them. Which
items were seen is kept in a small JSON file, replaced atomically after each feed's articles are
committed: stopped at any moment, the next round fetches again at most what was in hand, and the
ingest writes nothing twice (unchanged articles are skipped by their content hash). An item whose
page and feed content both failed is tried again next round.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from qa.errors import DatelineError
from qa.ingest import ReadResult, is_url
from qa.models import Article, IngestError, IngestReport
from qa.pipeline import on_ctrl_c
from qa.web import FeedItem, Fetcher, feed_items, item_records

if TYPE_CHECKING:
    from qa.archive import Archive

#: Item keys remembered per feed; a feed lists its latest items, so older keys are not needed.
MAX_KEYS_PER_FEED = 5_000


def read_feed_list(path: Path) -> list[str]:
    """Feed URLs or files, one per line; blank lines and ``#`` comments ignored. Files are resolved
    against the list's folder."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatelineError(f"{path}: cannot read: {exc.strerror or exc}") from None
    feeds = []
    for line in lines:
        entry = re.sub(r"(^|\s)#.*$", "", line).strip()  # a comment; a URL's own #fragment stays
        if not entry:
            continue
        if not is_url(entry):
            entry = str((path.parent / entry).resolve())
        feeds.append(entry)
    if not feeds:
        raise DatelineError(f"{path}: no feeds listed")
    return feeds


def parse_every(text: str) -> float:
    """Seconds in ``30s``, ``15m``, ``2h`` or ``1d`` (a bare number is minutes)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not match or float(match.group(1)) <= 0:
        raise DatelineError(f"--every {text!r}: expected a duration such as 30s, 15m or 2h")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 60}[match.group(2)]


@dataclass
class FeedRound:
    """What one feed gave in one round."""

    feed: str
    items: int
    new: int
    report: IngestReport | None = None
    error: str | None = None
    #: Titles of the articles the new items gave (the log shows the first few).
    titles: list[str] = field(default_factory=list)

    def line(self) -> str:
        stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        if self.error:
            return f"{stamp} {self.feed}: error: {self.error}"
        if self.report is None:
            return f"{stamp} {self.feed}: {self.items} items, nothing new"
        r = self.report
        text = (
            f"{stamp} {self.feed}: {self.new} new of {self.items}: "
            f"{r.articles_added} added, {r.articles_updated} updated, {r.articles_skipped} unchanged"
        )
        if r.passed_over:
            text += "; not articles: " + ", ".join(f"{n} {reason}" for reason, n in sorted(r.passed_over.items()))
        if r.errors:
            text += f"; {len(r.errors)} error(s), tried again next round"
        if self.titles:
            shown = "; ".join(f"“{t}”" for t in self.titles[:5])
            text += f"\n    {shown}" + (f" and {len(self.titles) - 5} more" if len(self.titles) > 5 else "")
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "feed": self.feed,
            "items": self.items,
            "new": self.new,
            "error": self.error,
            "report": self.report.model_dump(mode="json") if self.report else None,
            "titles": self.titles,
        }


class Follower:
    """Reads ``feeds`` into ``archive`` round after round, remembering seen items in ``state``."""

    def __init__(self, archive: Archive, feeds: list[str], state: Path, fetcher: Fetcher | None = None) -> None:
        self.archive = archive
        self.feeds = feeds
        self.state_path = state
        self.fetcher = fetcher or Fetcher()
        self.seen: dict[str, list[str]] = self._load()

    def _load(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise DatelineError(f"{self.state_path}: unreadable follow state ({exc}); remove it to start over") from None
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise DatelineError(f"{self.state_path}: not a follow state; remove it to start over")
        return data

    def _save(self) -> None:
        temporary = self.state_path.with_name(self.state_path.name + ".tmp")
        temporary.write_text(json.dumps(self.seen, indent=0), encoding="utf-8")
        os.replace(temporary, self.state_path)  # atomic: the old state or the new, never half

    def round(self) -> Iterator[FeedRound]:
        """One pass over every feed; stops early (``report.interrupted``) on Ctrl-C."""
        for feed in self.feeds:
            try:
                items = feed_items(feed, self.fetcher)
            except DatelineError as exc:
                yield FeedRound(feed, 0, 0, error=str(exc))
                continue
            known = set(self.seen.get(feed, []))
            fresh = [item for item in items if item.key not in known]
            if not fresh:
                yield FeedRound(feed, len(items), 0)
                continue
            failed: set[str] = set()
            titles: list[str] = []
            report = self.archive.ingest_records(self._records(fresh, feed, failed, titles))
            if report.interrupted:
                yield FeedRound(feed, len(items), len(fresh), report, titles=titles)
                return  # nothing marked seen: the next round fetches these items again
            done = [item.key for item in fresh if item.key not in failed]
            self.seen[feed] = (self.seen.get(feed, []) + done)[-MAX_KEYS_PER_FEED:]
            self._save()
            yield FeedRound(feed, len(items), len(fresh), report, titles=titles)

    def _records(self, items: list[FeedItem], feed: str, failed: set[str], titles: list[str]) -> Iterator[ReadResult]:
        for item, record in item_records(items, self.fetcher, feed):
            if isinstance(record, IngestError):
                failed.add(item.key)
            elif isinstance(record, Article):
                titles.append(record.title or record.url)
            yield record

    def run(self, every: float | None, emit: Callable[[FeedRound], None], stop: threading.Event | None = None) -> bool:
        """Rounds until ``stop`` is set or Ctrl-C (once when ``every`` is None); False when stopped
        before its end. Ctrl-C sets ``stop``, checked between feeds and while waiting, and an ingest
        in progress stops after its batch in hand (``qa.pipeline``)."""
        stop = stop or threading.Event()
        try:
            with on_ctrl_c(stop.set):
                while not stop.is_set():
                    for result in self.round():
                        emit(result)
                        if (result.report is not None and result.report.interrupted) or stop.is_set():
                            return False
                    if every is None:
                        return True
                    stop.wait(every)
                return False
        finally:
            self.fetcher.close()
