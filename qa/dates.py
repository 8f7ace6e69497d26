"""Dates: publication dates from metadata, and dates written in article text resolved to the calendar.

Explicit forms ("January 8, 2020", "8 Jan 2020", "2020-01-08", "January 2020", "in 2020") are read
with regular expressions because they are unambiguous and this runs on every sentence we ingest.
Relative phrases ("two years ago", "last week") are handed to dateparser with the article's
publication day as the base, which is what it does well. A year or month stays at that precision.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

import dateparser

from qa.errors import BadDateError
from qa.models import EventDate, Precision

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_MONTH_NAMES = "January|February|March|April|May|June|July|August|September|October|November|December"
_MONTH = r"(?P<{}>(?:" + _MONTH_NAMES + r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\b\.?)"
_DAY = r"(?P<{}>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<{}>(?:19|20)\d\d)"
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
#: Between a month and its day: a space, or none after an abbreviation's period ("Sept.17").
_GAP = r"(?:\s+|(?<=\.))"
_NUM = r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"

#: Two days of one month written as a range, the year (if any) written once after both:
#: "Jan. 7-8, 2020", "March 17–18", "7-8 January 2020". Each day is read with the range's month and year.
_DASH = r"\s?[-\u2013]\s?"
_DAY_RANGES: list[re.Pattern[str]] = [
    re.compile(
        _MONTH.format("mon") + _GAP + _DAY.format("d") + _DASH + _DAY.format("d2") + r"(?:,?\s+" + _YEAR.format("y") + r")?\b(?![:.]\d)"
    ),
    re.compile(
        r"\b"
        + _DAY.format("d")
        + _DASH
        + _DAY.format("d2")
        + r"\s+(?:of\s+)?"
        + _MONTH.format("mon")
        + r"(?:,?\s+"
        + _YEAR.format("y")
        + r")?"
    ),
]

# Order matters: longer, more specific forms first; a span taken by one is not read again.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b" + _YEAR.format("y") + r"-(?P<m>[01]\d)-(?P<d>[0-3]\d)\b")),
    ("mdy", re.compile(_MONTH.format("mon") + _GAP + _DAY.format("d") + r",?\s+" + _YEAR.format("y") + r"\b")),
    ("dmy", re.compile(r"\b" + _DAY.format("d") + r"\s+(?:of\s+)?" + _MONTH.format("mon") + r",?\s+" + _YEAR.format("y") + r"\b")),
    ("my", re.compile(_MONTH.format("mon") + r"\s+(?:of\s+)?" + _YEAR.format("y") + r"\b")),
    ("md", re.compile(_MONTH.format("mon") + _GAP + _DAY.format("d") + r"\b(?![:.]\d)")),
    ("dm", re.compile(r"\b" + _DAY.format("d") + r"\s+(?:of\s+)?" + _MONTH.format("mon"))),
    ("rel", re.compile(r"\b(?:" + _NUM + r")\s+(?:days?|weeks?|months?|years?)\s+ago\b", re.I)),
    ("rel", re.compile(r"\b(?:last|this)\s+(?:week|month|year)\b", re.I)),
    ("word", re.compile(r"\b(?:(?:the\s+)?day\s+before\s+yesterday|yesterday|today|last night|this morning|tonight)\b", re.I)),
    # A weekday that names the date written after it ("Sunday, Feb. 12") is that date, not a day of its own;
    # one in a title-cased name ("Saturday Night Live", "Monday Night Football") is no day.
    (
        "weekday",
        re.compile(
            r"\b(?P<w>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
            r"(?!\s+(?:Night|Morning|Evening|Afternoon)\s+[A-Z])"
            r"(?!,?\s+(?:the\s+)?(?:[0-3]?\d(?:st|nd|rd|th)?\s+(?:of\s+)?)?"
            r"(?:" + _MONTH_NAMES + r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\b)"
        ),
    ),
    (
        "year",
        re.compile(
            r"\b(?:in|since|during|until|by|from|of|before|after|throughout|early|late|mid-|the|a|its)\s+"
            + _YEAR.format("y")
            + r"\b(?!-\d)",
            re.I,
        ),
    ),
]


def parse_date(value: object, *, field: str = "date") -> dt.date | None:
    """Read a publication or filter date: ISO strings, datetimes, or free text via dateparser.

    >>> parse_date("January 21, 2024")
    datetime.date(2024, 1, 21)
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise BadDateError(f"{field}: expected a date string, got {type(value).__name__}")
    text = value.strip()
    if len(text) > 100:
        raise BadDateError(f"{field}: {text[:40]!r}... is too long to be a date")
    try:
        day = dt.date.fromisoformat(text[:10]) if re.match(r"\d{4}-\d\d-\d\d", text) else _parse_free(text, field)
    except ValueError as exc:
        raise BadDateError(f"{field}: {value!r} is not a valid date ({exc})") from None
    if not 1800 <= day.year <= 2200:
        raise BadDateError(f"{field}: {value!r} is outside the years 1800-2200")
    return day


def _parse_free(text: str, field: str) -> dt.date:
    parsed = dateparser.parse(text, settings={"PREFER_DAY_OF_MONTH": "first", "REQUIRE_PARTS": ["year"]})
    if parsed is None:
        raise BadDateError(f"{field}: {text!r} is not a date (try YYYY-MM-DD)")
    return parsed.date()


def _closest_year(month: int, day: int, published: dt.date) -> dt.date | None:
    """A day written without its year is the one nearest the publication day."""
    options = []
    for year in (published.year - 1, published.year, published.year + 1):
        try:
            options.append(dt.date(year, month, day))
        except ValueError:
            continue
    if not options:
        return None
    # Ties go to the past: news mostly reports what has happened.
    return min(options, key=lambda d: (abs((d - published).days), d > published))


@lru_cache(maxsize=8192)
def _relative(phrase: str, published: dt.date) -> tuple[dt.date, Precision] | None:
    lowered = phrase.lower()
    base = dt.datetime.combine(published, dt.time(12))
    if lowered in ("today", "tonight", "this morning"):
        return published, "day"
    if lowered in ("yesterday", "last night"):
        return published - dt.timedelta(days=1), "day"
    if lowered.endswith("before yesterday"):
        return published - dt.timedelta(days=2), "day"
    if lowered == "this week":
        return published - dt.timedelta(days=published.weekday()), "week"
    if lowered == "this month":
        return published.replace(day=1), "month"
    if lowered == "this year":
        return dt.date(published.year, 1, 1), "year"
    parsed = dateparser.parse(lowered, settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past"})
    if parsed is None:
        return None
    day = parsed.date()
    if "week" in lowered:
        return day - dt.timedelta(days=day.weekday()), "week"
    if "month" in lowered:
        return day.replace(day=1), "month"
    if "year" in lowered:
        return dt.date(day.year, 1, 1), "year"
    return day, "day"


def _in_a_name(match: re.Match[str], text: str) -> bool:
    """Whether a word such as "today" is written as (part of) a name: "told USA TODAY", "on NBC's
    Today show", "The Tonight Show". Only a lower-case one, or one that opens a sentence or a line,
    is a day.

    >>> [e.text for e in extract_event_dates(
    ...     "Comfort told USA TODAY on Friday. Today, crews arrived; he watched The Tonight Show tonight.", dt.date(2024, 12, 20))]
    ['Friday', 'Today', 'tonight']
    """
    word = match.group(0)
    if word.islower():
        return False
    if word.isupper() and len(word) > 1:
        return True
    before = text[: match.start()].rstrip(" \t")
    return not (before == "" or before[-1] in "\n.!?:;\"'\u201c\u201d\u2018\u2019([-\u2013\u2014")


def _weekday(name: str, published: dt.date, context: str) -> dt.date:
    """A bare weekday is the latest such day on or before publication, except the next day or two:
    in Tuesday's paper "Wednesday" is tomorrow, not six days ago."""
    target = _WEEKDAYS[name.lower()]
    ahead = (target - published.weekday()) % 7
    if re.search(r"\bnext\s+$", context, re.I):
        return published + dt.timedelta(days=ahead or 7)
    if re.search(r"\blast\s+$", context, re.I) or not 0 < ahead <= 2:
        return published - dt.timedelta(days=(published.weekday() - target) % 7 or (7 if ahead == 0 and "last" in context.lower() else 0))
    return published + dt.timedelta(days=ahead)


def extract_event_dates(text: str, published: dt.date | None) -> list[EventDate]:
    """Every date a text states, resolved against ``published``; offsets index ``text``.

    >>> [(e.date.isoformat(), e.precision) for e in extract_event_dates(
    ...     "Missiles hit the base on January 20, as in January 2020.", dt.date(2024, 1, 21))]
    [('2024-01-20', 'day'), ('2020-01-01', 'month')]
    >>> [(e.date.isoformat(), e.text) for e in extract_event_dates("on the night of Jan. 7-8, 2020", dt.date(2024, 1, 21))]
    [('2020-01-07', 'Jan. 7'), ('2020-01-08', '8, 2020')]
    """
    found: list[EventDate] = []
    taken: list[tuple[int, int]] = []
    for pattern in _DAY_RANGES:
        for match in pattern.finditer(text):
            if _overlaps(match.span(), taken):
                continue
            days = _day_range(match, published)
            if days is None:
                continue
            taken.append(match.span())
            # Each day's own words: "Jan. 7" and "8, 2020"; "7" and "8 January 2020".
            spans = [(match.start(), match.end("d")), (match.start("d2"), match.end())]
            for day, (start, end) in zip(days, spans, strict=True):
                found.append(EventDate(date=day, precision="day", start=start, end=end, text=text[start:end]))
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if _overlaps((start, end), taken):
                continue
            resolved = _resolve(kind, match, published, text)
            if resolved is None:
                continue
            if kind == "year":
                start = match.start("y")
            taken.append((start, end))
            found.append(EventDate(date=resolved[0], precision=resolved[1], start=start, end=end, text=text[start:end]))
    found.sort(key=lambda e: e.start)
    return found


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    """Whether ``span`` shares a character with a span already read as a date."""
    return any(span[0] < t_end and t_start < span[1] for t_start, t_end in taken)


def _day_range(match: re.Match[str], published: dt.date | None) -> tuple[dt.date, dt.date] | None:
    """The two days of a range in one month (``_DAY_RANGES``), in the year written after them, else
    in the year ``_closest_year`` gives the first; None unless the second day follows the first."""
    month = _MONTHS[match.group("mon").rstrip(".").lower()]
    first, second = int(match.group("d")), int(match.group("d2"))
    if not first < second <= 31:
        return None
    try:
        if match.group("y"):
            year = int(match.group("y"))
        elif published is not None and (closest := _closest_year(month, first, published)) is not None:
            year = closest.year
        else:
            return None
        return dt.date(year, month, first), dt.date(year, month, second)
    except ValueError:
        return None


def _resolve(kind: str, match: re.Match[str], published: dt.date | None, text: str) -> tuple[dt.date, Precision] | None:
    groups = match.groupdict()
    month = _MONTHS[groups["mon"].rstrip(".").lower()] if groups.get("mon") else None
    try:
        if kind == "iso":
            return dt.date(int(groups["y"]), int(groups["m"]), int(groups["d"])), "day"
        if kind in ("mdy", "dmy"):
            assert month is not None
            return dt.date(int(groups["y"]), month, int(groups["d"])), "day"
        if kind == "my":
            assert month is not None
            return dt.date(int(groups["y"]), month, 1), "month"
        if kind == "year":
            return dt.date(int(groups["y"]), 1, 1), "year"
    except ValueError:
        return None
    if published is None:
        return None
    if kind in ("md", "dm"):
        assert month is not None
        day = _closest_year(month, int(groups["d"]), published)
        return (day, "day") if day else None
    if kind == "word" and _in_a_name(match, text):
        return None
    if kind in ("rel", "word"):
        return _relative(match.group(0), published)
    if kind == "weekday":
        return _weekday(groups["w"], published, text[max(0, match.start() - 6) : match.start()]), "day"
    return None


@dataclass(frozen=True)
class Shift:
    """A day counted from another: ``days`` after it (negative: before). ``after_own``: counted back
    from the sentence's own date ("on Monday, three days after ousting him" dates the ousting)."""

    days: int
    after_own: bool = False


_COUNT_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_COUNT_WORDS.update({"six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10})
_COUNT = r"(?P<n>\d{1,2}|a|an|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?P<unit>days?|weeks?)"
_LATER = re.compile(r"\b(?:the\s+(?:next|following)\s+day|" + _COUNT + r"\s+later)\b", re.I)
_EARLIER = re.compile(r"\b(?:the\s+(?:previous|prior)\s+day|the\s+day\s+before(?=[,.])|" + _COUNT + r"\s+(?:earlier|before(?=[,.])))", re.I)
_AFTER_EVENT = re.compile(r"\b" + _COUNT + r"\s+after\s+(?!that\b|this\b)", re.I)


def relative_shift(sentence: str) -> Shift | None:
    """The day a sentence's event is counted from another date, if it says so.

    >>> relative_shift("The next day, crews reached the site.")
    Shift(days=1, after_own=False)
    >>> relative_shift("The board on Monday named a new CEO, three days after ousting him.")
    Shift(days=-3, after_own=True)
    """
    for pattern, sign, own in ((_AFTER_EVENT, -1, True), (_LATER, 1, False), (_EARLIER, -1, False)):
        match = pattern.search(sentence)
        if match:
            return Shift(days=sign * _count_days(match), after_own=own)
    return None


def _count_days(match: re.Match[str]) -> int:
    groups = match.groupdict()
    if not groups.get("n"):
        return 1
    count = _COUNT_WORDS.get(groups["n"].lower()) or int(groups["n"])
    return count * (7 if groups["unit"].lower().startswith("week") else 1)


def precision_end(day: dt.date, precision: Precision) -> dt.date:
    """The last calendar day a date of this precision can mean."""
    if precision == "week":
        return day + dt.timedelta(days=6)
    if precision == "month":
        return day.replace(day=calendar.monthrange(day.year, day.month)[1])
    if precision == "year":
        return dt.date(day.year, 12, 31)
    return day


def format_day(day: dt.date, precision: Precision, month_first: bool = False) -> str:
    """How an answer shows a date: '20 January 2024' (or, ``month_first``, as the source writes
    it: 'January 20, 2024'), 'January 2020', '2020', 'week of 8 January 2024'."""
    if precision == "year":
        return str(day.year)
    if precision == "month":
        return f"{calendar.month_name[day.month]} {day.year}"
    month = calendar.month_name[day.month]
    text = f"{month} {day.day}, {day.year}" if month_first else f"{day.day} {month} {day.year}"
    return f"week of {text}" if precision == "week" else text


_MONTH_FIRST = re.compile(rf"^(?:on\s+)?(?:{'|'.join(calendar.month_name[1:] + calendar.month_abbr[1:])})\.?\s+\d", re.I)


def month_first(written: str) -> bool:
    """Whether a date is written month before day ("April 15", "Jan. 8, 2020"), as US news writes it.

    >>> month_first("April 15"), month_first("15 April 2025"), month_first("Saturday")
    (True, False, False)
    """
    return bool(_MONTH_FIRST.match(written.strip()))
