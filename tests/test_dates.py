"""Dates in text resolved to calendar days against the publication day."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.dates import extract_event_dates, format_day, parse_date, precision_end
from qa.errors import BadDateError

PUBLISHED = dt.date(2024, 1, 21)  # a Sunday


@pytest.mark.parametrize(
    ("text", "day", "precision"),
    [
        ("fired missiles on January 20 for the first time in two years", "2024-01-20", "day"),
        ("at 6:30 p.m. (Baghdad time) Jan. 20, missiles were launched", "2024-01-20", "day"),
        ("the strike on Saturday", "2024-01-20", "day"),
        ("he will speak on Tuesday", "2024-01-23", "day"),
        ("the raid last Sunday", "2024-01-14", "day"),
        ("an attack last week", "2024-01-08", "week"),
        ("a raid two years ago", "2022-01-01", "year"),
        ("On January 8, 2020, Iran fired", "2020-01-08", "day"),
        ("on 8 January 2020", "2020-01-08", "day"),
        ("in 2020", "2020-01-01", "year"),
        ("In January 2020, Iran fired", "2020-01-01", "month"),
        ("the 2020 strike", "2020-01-01", "year"),
        ("published 2024-01-20", "2024-01-20", "day"),
        ("yesterday", "2024-01-20", "day"),
        ("on December 30", "2023-12-30", "day"),
        ("On Sept.17, the Fed cut rates", "2023-09-17", "day"),
        ("struck the day before yesterday", "2024-01-19", "day"),
    ],
)
def test_resolves_against_publication_day(text: str, day: str, precision: str) -> None:
    (event,) = extract_event_dates(text, PUBLISHED)
    assert (event.date.isoformat(), event.precision) == (day, precision)
    assert text[event.start : event.end] == event.text


@pytest.mark.parametrize(
    ("text", "days", "written"),
    [
        # The year written once, after both days, is both days' year (not the nearest to publication).
        ("on the night of Jan. 7-8, 2020", ["2020-01-07", "2020-01-08"], ["Jan. 7", "8, 2020"]),
        ("concerts on March 17\u201318, 2023", ["2023-03-17", "2023-03-18"], ["March 17", "18, 2023"]),
        ("talks on 7-8 January 2020", ["2020-01-07", "2020-01-08"], ["7", "8 January 2020"]),
        ("hearings on Jan. 10-12", ["2024-01-10", "2024-01-12"], ["Jan. 10", "12"]),
        ("a 24-17 win in January 2020", ["2020-01-01"], ["January 2020"]),
    ],
)
def test_a_range_of_days_in_one_month_is_both_days(text: str, days: list[str], written: list[str]) -> None:
    found = extract_event_dates(text, PUBLISHED)
    assert [e.date.isoformat() for e in found] == days
    assert [e.text for e in found] == written == [text[e.start : e.end] for e in found]


def test_durations_and_numbers_are_not_dates() -> None:
    for text in ("for the first time in two years", "about 1,200 people", "at 2020 hours", "Hwasong-17 flew 69 minutes"):
        assert extract_event_dates(text, PUBLISHED) == []


def test_without_publication_day_only_absolute_dates_resolve() -> None:
    events = extract_event_dates("On Saturday, as on January 8, 2020, missiles hit.", None)
    assert [e.date.isoformat() for e in events] == ["2020-01-08"]


@given(published=st.dates(dt.date(1990, 1, 1), dt.date(2090, 12, 31)), month=st.integers(1, 12), day=st.integers(1, 28))
def test_day_without_year_is_the_nearest_to_publication(published: dt.date, month: int, day: int) -> None:
    name = dt.date(2000, month, 1).strftime("%B")
    (event,) = extract_event_dates(f"It happened on {name} {day}.", published)
    assert (event.date.month, event.date.day) == (month, day)
    assert abs((event.date - published).days) <= 183


@given(published=st.dates(dt.date(1990, 1, 1), dt.date(2090, 12, 31)), weekday=st.integers(0, 6))
def test_weekday_is_the_nearest_such_day_mostly_in_the_past(published: dt.date, weekday: int) -> None:
    name = dt.date(2024, 1, 1 + weekday).strftime("%A")  # 2024-01-01 is a Monday
    (event,) = extract_event_dates(f"Missiles hit on {name}.", published)
    assert event.date.weekday() == weekday
    assert -2 <= (published - event.date).days <= 4  # the next two days, or the last four
    (last,) = extract_event_dates(f"Missiles hit last {name}.", published)
    assert 1 <= (published - last.date).days <= 7


def test_parse_date_accepts_iso_and_prose_and_rejects_nonsense() -> None:
    assert parse_date("2024-01-21") == PUBLISHED
    assert parse_date("January 21, 2024") == PUBLISHED
    assert parse_date(dt.datetime(2024, 1, 21, 10)) == PUBLISHED
    for bad in ("not a date", "2024-13-45", 42):
        with pytest.raises(BadDateError):
            parse_date(bad)


def test_precision_end_and_format() -> None:
    assert precision_end(dt.date(2020, 2, 1), "month") == dt.date(2020, 2, 29)
    assert format_day(dt.date(2024, 1, 20), "day") == "20 January 2024"
    assert format_day(dt.date(2020, 1, 1), "month") == "January 2020"
    assert format_day(dt.date(2025, 4, 15), "day", month_first=True) == "April 15, 2025"
    assert format_day(dt.date(2025, 4, 15), "month", month_first=True) == "April 2025"


@pytest.mark.parametrize(
    "text",
    [
        "“The majority of that has to do with interest rates,” Comfort told USA TODAY.",
        "She said so on NBC's Today show.",
        "He was a guest on The Tonight Show.",
    ],
)
def test_a_day_word_written_as_a_name_is_no_date(text: str) -> None:
    assert extract_event_dates(text, dt.date(2024, 12, 19)) == []


def test_a_weekday_in_a_title_cased_name_is_no_date() -> None:
    text = "He hosted Saturday Night Live and watched Monday Night Football on Saturday night."
    assert [e.text for e in extract_event_dates(text, dt.date(2024, 12, 19))] == ["Saturday"]
