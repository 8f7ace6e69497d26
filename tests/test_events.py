"""The event index: dated statements found wherever they are, dated from their neighbours, grouped across articles."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa import Archive, Article, events, when
from qa import archive as archive_module
from qa.answer import question_names, read_intent
from qa.chunk import split_sentences
from qa.dates import Shift, extract_event_dates, relative_shift
from qa.events import EventIndex
from qa.names import compatible_names, stem_key, with_compounds
from qa.retrieve import Filters
from qa.when import _LAST_TIME, _attributed, names_an_end, reports_it_happened
from tests.conftest import CORPUS, HEADLINE, archive_of


@pytest.mark.parametrize(
    ("sentence", "shift"),
    [
        ("The next day, crews reached the site.", Shift(1)),
        ("Two days later the airport reopened.", Shift(2)),
        ("A week later, the board met again.", Shift(7)),
        ("The previous day, officials had warned of an attack.", Shift(-1)),
        ("The board on Monday named a new chief, three days after ousting the founder.", Shift(-3, after_own=True)),
        ("The rally ended after that.", None),
        ("Two days after that, it rained.", None),
    ],
)
def test_relative_days_are_read_from_the_sentence(sentence: str, shift: Shift | None) -> None:
    assert relative_shift(sentence) == shift


@pytest.mark.parametrize(
    ("question", "text", "compatible"),
    [
        ("When was Ain al-Asad hit?", "Syrian President Bashar al-Assad fled to Moscow.", False),
        ("When was Ain al-Asad hit?", "Rockets struck Al Asad air base in Anbar.", True),
        ("When was Ain al-Asad hit?", "Rockets struck the al-Assad airbase.", True),
        ("When was Ain al-Asad hit?", "Bashar al-Assad spoke as missiles hit Ain al-Asad.", True),
        ("When did Bashar al-Assad flee Damascus?", "Bashar al-Assad fled as rebels entered Damascus.", True),
        ("When did Bashar al-Assad flee Damascus?", "Assad's forces withdrew.", True),
    ],
)
def test_a_name_inside_another_name_is_not_the_question_s(question: str, text: str, compatible: bool) -> None:
    assert compatible_names(question, text) is compatible


def _article(id_: str, published: str, title: str, text: str) -> Article:
    return Article(id=id_, title=title, published=dt.date.fromisoformat(published), source="test", text=text)


@pytest.fixture(scope="module")
def neighbour_archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    archive = Archive.open(tmp_path_factory.mktemp("events") / "index")
    articles = [
        # The date is in the sentence before the one that names the event.
        _article(
            "n1",
            "2023-03-08",
            "Harbour news",
            "The storm reached the coast on Tuesday.\nThe lighthouse at Kessel Point collapsed into the sea, officials said.\n"
            "Repairs are expected to take months.",
        ),
        # The day is counted from a date nearby.
        _article(
            "n2",
            "2023-05-12",
            "Festival diary",
            "The orchestra opened the Varna festival on May 3. The next day, the old opera house of Varna caught fire during a rehearsal.",
        ),
    ]
    report = archive.ingest(articles)
    assert report.articles_added == 2
    return archive


def test_a_date_in_the_neighbouring_sentence_dates_the_event_and_the_quote_states_it(neighbour_archive: Archive) -> None:
    answer = neighbour_archive.ask("When did the Kessel Point lighthouse collapse?")
    assert answer.date == "2023-03-07"
    quote = answer.citations[0]
    article = neighbour_archive.article(quote.article_id)
    assert article is not None and article.text[quote.start : quote.end] == quote.quote
    assert "Tuesday" in quote.quote and "lighthouse" in quote.quote


def test_the_next_day_counts_from_the_date_before_it(neighbour_archive: Archive) -> None:
    answer = neighbour_archive.ask("When did the Varna opera house catch fire?")
    assert answer.date == "2023-05-04"
    assert "May 3" in answer.citations[0].quote and "caught fire" in answer.citations[0].quote


def test_event_records_cover_every_dated_sentence_and_survive_a_reload(neighbour_archive: Archive) -> None:
    index = neighbour_archive.events
    days = {index.record(row).day.isoformat() for row in range(len(index))}
    assert {"2023-03-07", "2023-05-03", "2023-05-04"} <= days
    folder = neighbour_archive.store.derived_folder
    assert folder is not None
    loaded = EventIndex.load(folder, *neighbour_archive.retriever.version)
    assert loaded is not None and loaded.quotes == index.quotes
    assert (loaded.days == index.days).all()


def test_the_latest_occurrence_wins_however_far_down_the_passages_it_ranks(tmp_path: Path) -> None:
    retrospectives = [
        _article(
            f"r{i}",
            f"2024-0{i + 2}-10",
            f"Looking back at the Tarsin dam breach {i}",
            "On March 4, 2019, the Tarsin dam breached and flooded the valley below it. "
            "The breach of the Tarsin dam on March 4, 2019 is still studied by engineers.",
        )
        for i in range(2)
    ]
    latest = [
        _article("late", "2023-11-03", "Valley again under water", "Water broke through the Tarsin dam again on Thursday, flooding farms."),
        _article("late2", "2023-11-04", "Farms flooded", "The Tarsin dam breached on Thursday for the second time, flooding farms."),
    ]
    archive = archive_of(tmp_path, [*retrospectives, *latest])
    answer = archive.ask("When did the Tarsin dam last breach?")
    assert answer.date == "2023-11-02"
    assert answer.citations[0].article_id in {"late", "late2"}
    first = archive.ask("When did the Tarsin dam first breach?")
    assert first.date == "2019-03-04"


def test_the_latest_occurrence_wins_though_fewer_articles_report_it(tmp_path: Path) -> None:
    earlier = [
        "The Kessa volcano erupted on March 3, 2021, covering nearby villages in ash.",
        "Ash fell on three villages when the Kessa volcano erupted on March 3, 2021.",
        "On March 3, 2021, the Kessa volcano erupted for the first time in a decade.",
        "Flights were grounded after the Kessa volcano erupted on March 3, 2021.",
        "The Kessa volcano erupted on March 3, 2021, and lava reached the sea a week later.",
    ]
    articles = [_article(f"e{i}", "2021-03-05", "Kessa", text) for i, text in enumerate(earlier)]
    articles.append(_article("late", "2023-10-14", "Kessa", "The Kessa volcano erupted again on Oct. 12, 2023."))
    archive = archive_of(tmp_path, articles)
    # Five articles' support puts the 2021 eruption's score well above the 2023 one's, but the one
    # report of 2023 is as relevant as the best of 2021: it is an occurrence, and the latest.
    answer = archive.ask("When did the Kessa volcano last erupt?")
    assert answer.date == "2023-10-12"
    assert answer.citations[0].article_id == "late"


def test_a_date_naming_another_event_does_not_date_the_question_s(tmp_path: Path) -> None:
    texts = [
        ("a1", "2023-11-30", "On the first day of the truce, the Korvan militia released 12 of the captives seized in its Oct. 7 raid."),
        ("a2", "2023-11-30", "The Korvan militia released more captives seized during its Oct. 7 raid on the border towns."),
        ("a3", "2023-12-01", "Families waited as the Korvan militia released captives taken in its Oct. 7 raid."),
        ("b1", "2023-11-25", "The Korvan militia released a first group of captives on Nov. 24."),
    ]
    archive = archive_of(tmp_path, [_article(id_, published, "Truce", text) for id_, published, text in texts])
    # "Its Oct. 7 raid" dates the raid: a release is not on that day, however many reports name it.
    assert archive.ask("When did the Korvan militia first release captives?").date == "2023-11-24"
    # Asked about the raid, the same words date it.
    assert archive.ask("When was the Korvan militia's raid?").date == "2023-10-07"


def test_a_report_whose_date_belongs_to_the_question_s_verb_answers(tmp_path: Path) -> None:
    texts = [
        # Two reports name the release, but their date is the day the captives were seized.
        ("w1", "2023-11-26", "The Varn militia freed the captives it had seized on Oct. 7 in the border raid."),
        ("w2", "2023-11-27", "Families met the captives the Varn militia seized on Oct. 7, after they were freed."),
        ("r1", "2023-11-25", "The Varn militia freed the captives on Nov. 24, officials at the crossing confirmed."),
    ]
    archive = archive_of(tmp_path, [_article(id_, published, "Truce", text) for id_, published, text in texts])
    answer = archive.ask("When did the Varn militia free the captives?")
    assert answer.date == "2023-11-24"
    assert answer.citations[0].article_id == "r1"


def test_one_article_s_wrong_day_does_not_beat_the_consensus(tmp_path: Path) -> None:
    right = [
        _article(f"ok{i}", "2022-06-20", f"Report {i}", "The Orlen bridge over the Sava collapsed on June 17, 2022, killing two.")
        for i in range(3)
    ]
    wrong = _article("bad", "2022-06-20", "Report wrong", "The Orlen bridge over the Sava collapsed on June 18, 2022, killing two.")
    archive = archive_of(tmp_path, [*right, wrong])
    answer = archive.ask("When did the Orlen bridge collapse?")
    assert answer.date == "2022-06-17"


# Which day one event's reports date it by: (articles, question, day, the articles the first citation may come from).
_DAY_OF_ONE_EVENT = {
    # Reports of the 13th ("Thursday", read against a Friday) and of the 14th (written with its
    # number) are one event. Chained from the earliest day, the nominations of the 12th took the
    # 13th's reports into a group of their own, which outnumbered the 14th's.
    "a stray report of the day before does not split it": (
        [
            ("n1", "2023-07-15", "The Velda actors' strike began on July 14, shutting down film sets."),
            ("n2", "2023-07-16", "Velda actors have been on strike since July 14."),
            ("w1", "2023-07-14", "The Velda actors went on strike on Thursday, shutting down film sets."),
            ("w2", "2023-07-14", "The Velda actors' strike began Thursday night across the country."),
            ("s", "2023-07-13", "Velda film award nominations were announced on July 12 as actors prepared to strike."),
        ],
        "When did the Velda actors go on strike?",
        "2023-07-14",
        {"n1", "n2"},
    ),
    # Two previews name the deadline (the 14th) before it; the one report written after names the 15th.
    "what happened, not what was planned before it": (
        [
            (
                "p1",
                "2023-09-12",
                "The Orvik dockworkers' contract expires at 11:59 p.m. on Sept. 14, and they will strike if no deal is reached.",
            ),
            ("p2", "2023-09-13", "The Orvik dockworkers plan to strike when their contract expires on Sept. 14."),
            ("r1", "2023-09-16", "The Orvik dockworkers' strike began Sept. 15 at the main port."),
        ],
        "When did the Orvik dockworkers go on strike?",
        "2023-09-15",
        {"r1"},
    ),
    # "early Wednesday" is the reversal's day; the declaration is Tuesday's.
    "not a date in another verb's clause": (
        [
            ("a1", "2024-12-04", "Premier Halvard Stenn declared martial law before reversing the move early Wednesday."),
            ("a2", "2024-12-04", "Premier Halvard Stenn's failed attempt to impose martial law late on Tuesday shook the markets."),
        ],
        "When did Premier Halvard Stenn declare martial law?",
        "2024-12-03",
        {"a2"},
    ),
}


@pytest.mark.parametrize(("texts", "question", "day", "cited"), _DAY_OF_ONE_EVENT.values(), ids=_DAY_OF_ONE_EVENT.keys())
def test_the_day_of_one_event(tmp_path: Path, texts: list[tuple[str, str, str]], question: str, day: str, cited: set[str]) -> None:
    archive = archive_of(tmp_path, [_article(id_, published, "Report", text) for id_, published, text in texts])
    answer = archive.ask(question)
    assert answer.date == day
    assert answer.citations[0].article_id in cited


def test_a_day_that_is_only_planned_or_previewed_is_no_occurrence(tmp_path: Path) -> None:
    archive = archive_of(
        tmp_path,
        [
            _article(
                "a1", "2024-03-04", "Kestrel flies", "The Kestrel test rocket launched on March 3 from the coastal pad and reached orbit."
            ),
            _article(
                "a2", "2024-06-10", "Kestrel again", "The Kestrel test rocket launched on June 9 from the coastal pad on its second flight."
            ),
            _article(
                "p1",
                "2024-09-07",
                "Kestrel soon",
                "The Kestrel test rocket could launch as soon as Sunday, Sept. 15, from the coastal pad.",
            ),
            # Written before the day it names, with no word of a plan: a preview all the same.
            _article("p2", "2024-11-02", "Kestrel schedule", "The Kestrel test rocket launches on Nov. 9 from the coastal pad."),
        ],
    )
    timeline = archive.timeline("When did the Kestrel test rocket launch?")
    assert [e.date for e in timeline.events] == ["2024-03-03", "2024-06-09"]
    assert archive.ask("When did the Kestrel test rocket last launch?").date == "2024-06-09"


def test_a_month_that_reports_agree_on_beats_a_far_weaker_day(tmp_path: Path) -> None:
    texts = [
        ("m1", "2023-09-10", "Mercenary chief Orlov Darsk died in a plane crash last month, along with nine others."),
        ("m2", "2023-09-20", "Orlov Darsk, who died in a plane crash last month, was buried quietly near the capital."),
        ("m3", "2023-10-02", "Since Orlov Darsk died in a plane crash in August, his fighters have scattered."),
        # A day, but of something else: it must not answer because it is a day.
        ("d1", "2022-02-04", "Orlov Darsk said on Thursday that he feared dying in a plane crash."),
    ]
    archive = archive_of(tmp_path, [_article(id_, published, "Report", text) for id_, published, text in texts])
    answer = archive.ask("When did Orlov Darsk die in a plane crash?")
    assert (answer.date, answer.precision) == ("2023-08-01", "month")
    assert answer.citations[0].article_id in {"m1", "m2", "m3"}


def test_a_range_dates_a_beginning_by_its_first_day_and_an_end_by_its_last(tmp_path: Path) -> None:
    archive = archive_of(
        tmp_path,
        [
            _article(
                "range",
                "2024-03-01",
                "Port strike over",
                "The Halvik dockworkers' strike ran from Jan. 9 to Feb. 20, the longest in the port's history.",
            ),
            # Two days of one month with the year written once, after both.
            _article("days", "2024-03-01", "An old strike", "The Orlen ferry crews' strike of March 17-18, 2019 stranded thousands."),
        ],
    )
    assert archive.ask("When did the Halvik dockworkers' strike begin?").date == "2024-01-09"
    assert archive.ask("When did the Halvik dockworkers' strike end?").date == "2024-02-20"
    assert archive.ask("When did the Orlen ferry crews' strike begin?").date == "2019-03-17"
    assert archive.ask("When did the Orlen ferry crews' strike end?").date == "2019-03-18"


def test_a_report_calling_itself_the_first_weighs_more_for_a_first_question(tmp_path: Path) -> None:
    archive = archive_of(
        tmp_path,
        [
            _article("plain", "2023-06-03", "Ferry", "The Ostra ferry crossed the fjord with passengers on June 2."),
            _article("first", "2023-06-10", "Ferry", "The Ostra ferry made its first crossing of the fjord with passengers on June 9."),
            _article(
                "return",
                "2025-06-17",
                "Ferry",
                "The Ostra ferry crossed the fjord with passengers for the first time in two years on June 16.",
            ),
        ],
    )

    def tops(question: str) -> dict[str, float]:
        intent = read_intent(question)
        return {g.day.isoformat(): g.top for g in archive.dated_events(question, intent, Filters())}

    plain = tops("When did the Ostra ferry cross the fjord with passengers?")
    first = tops("When did the Ostra ferry first cross the fjord with passengers?")
    assert first["2023-06-09"] - first["2023-06-02"] > plain["2023-06-09"] - plain["2023-06-02"] + 0.05
    # "For the first time in two years" is a return, not a first: no gain.
    assert first["2025-06-16"] - first["2023-06-02"] < plain["2025-06-16"] - plain["2023-06-02"] + 0.05


def test_announcing_something_is_an_act_and_saying_is_a_statement(tmp_path: Path) -> None:
    archive = archive_of(
        tmp_path,
        [
            _article("act", "2025-09-20", "Rates", "The Varnholm central bank on Sept. 17 announced a quarter-point cut to its main rate."),
            _article("said", "2025-09-20", "Rates", "The Varnholm central bank cut its main rate, officials said on Sept. 18."),
            _article("that", "2025-09-20", "Rates", "The Varnholm central bank on Sept. 19 announced that rates would stay low."),
        ],
    )
    index = archive.events
    attributed = {index.record(row).article_id: _attributed(index.record(row)) for row in range(len(index))}
    assert attributed == {"act": False, "said": True, "that": True}


@pytest.mark.parametrize(
    ("sentence", "happened"),
    [
        ("The central bank cut its main interest rate on March 19.", True),
        ("The central bank held its main interest rate steady on May 7.", False),
        ("Will the central bank cut its main interest rate on June 4?", False),
        ("The vote on Friday would avert a shutdown.", False),
        ("Lawmakers reached a deal late Saturday to avert a shutdown.", False),
        ("Congress passed a stopgap bill on Sunday, averting a shutdown.", False),
        ("The launch was scrubbed on Monday.", False),
        ("The rocket is set to launch on Monday.", False),
    ],
)
def test_a_sentence_that_plans_denies_or_asks_does_not_report_the_event(sentence: str, happened: bool) -> None:
    assert reports_it_happened(sentence) is happened


def test_a_page_s_note_about_itself_dates_no_event(tmp_path: Path) -> None:
    archive = archive_of(
        tmp_path,
        [
            _article(
                "live",
                "2024-04-23",
                "Brannock trial, day five",
                "Editor's note: This page recaps the news from the Brannock fraud trial for Monday, April 22.\n"
                "The jury in the Brannock fraud trial convicted him on March 28, 2024, on all counts.",
            )
        ],
    )
    index = archive.events
    assert {index.record(row).day.isoformat() for row in range(len(index))} == {"2024-03-28"}
    assert archive.ask("When was Brannock convicted in the fraud trial?").date == "2024-03-28"


def test_the_headline_timeline_holds_the_answers_and_only_the_base_s_strikes(corpus_archive: Archive) -> None:
    timeline = corpus_archive.timeline("Ain al-Asad hit by ballistic missiles")
    days = {e.date for e in timeline.events if e.precision == "day"}
    first = corpus_archive.ask("When was Ain al-Asad first hit by ballistic missiles?")
    assert first.date == "2020-01-08" and first.date in days
    assert corpus_archive.ask(HEADLINE).date in days  # the answer to "last" is drawn on the timeline
    for event in timeline.events:
        quote = event.citations[0]
        assert any(e.date.isoformat() == event.date for e in extract_event_dates(event.quote, _published(quote.published)))
        assert "Bashar" not in event.quote


def test_headline_answer_from_events(corpus_archive: Archive) -> None:
    answer = corpus_archive.ask(HEADLINE)
    assert answer.date == "2024-01-20"
    assert corpus_archive.ask(HEADLINE, as_of="2023-06-01").date == "2020-01-08"


def _published(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value[:10]) if value else None


def test_an_occurrence_said_to_repeat_an_earlier_one_is_not_the_first(tmp_path: Path) -> None:
    old = "The Dorval outpost came under mortar fire on May 2, 2021, and a guard was hurt."
    articles = [
        _article("old", "2021-05-03", "Dorval outpost", old),
        _article(
            "new",
            "2024-06-10",
            "Rebels fire rockets at the Dorval outpost for the first time in three years",
            "Rebels fired rockets at the Dorval outpost on June 9, killing two guards.",
        ),
    ]
    archive = archive_of(tmp_path, articles)
    # The 2024 report matches the question's words far better, but its article says the outpost
    # had been hit before, some three years earlier: the first is that earlier occurrence.
    first = archive.ask("When was the Dorval outpost first hit by rockets?")
    assert first.date == "2021-05-02"
    assert first.citations[0].article_id == "old"
    assert archive.ask("When was the Dorval outpost last hit by rockets?").date == "2024-06-09"
    # Within a window that holds no earlier occurrence, the repeat is the first.
    assert archive.ask("When was the Dorval outpost first hit by rockets in 2024?").date == "2024-06-09"


@pytest.mark.parametrize(
    ("sentence", "happened"),
    [
        ("Mortar shells hit the outpost on May 2, 2021.", True),  # the month, not the verb
        ("The Fed may cut rates in May.", False),
    ],
)
def test_the_month_may_is_no_plan(sentence: str, happened: bool) -> None:
    assert reports_it_happened(sentence) is happened


@pytest.mark.parametrize(
    "sentence",
    [
        "The commission said its planned Sept. 16 event was the earliest debate ever.",
        "The network proposed four dates for a debate: Sept. 17, Sept. 24, Oct. 1 and Oct. 8.",
    ],
)
def test_a_planned_or_proposed_day_is_no_report(sentence: str) -> None:
    assert not reports_it_happened(sentence)


def test_a_proposed_day_is_not_drawn_as_an_occurrence(tmp_path: Path) -> None:
    held = [
        ("first", "2024-09-11", "The Varn mayoral candidates met in their first debate on Sept. 10 at the civic hall."),
        ("second", "2024-10-02", "The Varn mayoral candidates met in their second debate on Oct. 1 at the harbour school."),
    ]
    leads = ["", "Last night,", "As expected,"]
    articles = [
        _article(f"{id_}-{j}", day, "Varn mayoral debate", f"{lead} {text}") for id_, day, text in held for j, lead in enumerate(leads)
    ]
    proposal = "The broadcaster proposed three dates for a Varn mayoral debate: Sept. 17, Sept. 24 and Oct. 8."
    articles += [_article(f"proposal-{j}", "2024-09-20", "Varn mayoral debate dates", f"{lead} {proposal}") for j, lead in enumerate(leads)]
    archive = archive_of(tmp_path, articles)
    timeline = archive.timeline("When were the Varn mayoral debates held?")
    assert [event.date for event in timeline.events] == ["2024-09-10", "2024-10-01"]


def _port_strike_archive(tmp_path: Path, starts: list[str], leads: list[str]) -> Archive:
    """Each of ``starts`` after each of ``leads``, published two days after the strike began, and
    one later article that says when it ended."""
    articles = [
        _article(f"s{i}-{j}", "2024-09-05", "Varn port strike", f"{lead} {text}")
        for i, text in enumerate(starts)
        for j, lead in enumerate(leads)
    ]
    end = "Trade figures stayed thin for weeks after the 40-day Varn port strike that ended Oct. 12, traders said."
    articles.append(_article("end", "2024-10-14", "Varn port", end))
    return archive_of(tmp_path, articles)


def test_when_something_ended_is_answered_by_reports_of_its_end(tmp_path: Path) -> None:
    starts = [
        "Dockers at the port of Varn walked out on Sept. 3, the first day of the port strike.",
        "The port strike at Varn began on Sept. 3, leaving ships waiting offshore.",
        "Exports stalled after the Varn port strike started on Sept. 3.",
        "On Sept. 3, the first day of the Varn port strike, no ship was unloaded.",
        "Farmers counted their losses from the Varn port strike that began Sept. 3.",
        "The 40-day Varn port strike, which began Sept. 3, cost the region dearly.",
    ]
    archive = _port_strike_archive(tmp_path, starts, ["", "Meanwhile,", "In the north,", "As feared,"])
    # Two dozen articles date the strike by its first day; the one that says when it ended answers.
    answer = archive.ask("When did the Varn port strike end?")
    assert answer.date == "2024-10-12"
    assert answer.citations[0].article_id == "end"
    assert archive.ask("When did the Varn port strike begin?").date == "2024-09-03"


def test_an_end_denied_expected_or_of_a_span_of_time_names_no_end(tmp_path: Path) -> None:
    starts = [
        "The Varn port strike began on Sept. 3 and is unlikely to end this month.",
        "Dockers walked out on Sept. 3, and union leaders see no end to the Varn port strike.",
        "The Varn port strike that began Sept. 3 may last until the end of the year.",
        "On Sept. 3 the Varn port strike began, without an end in sight.",
    ]
    archive = _port_strike_archive(tmp_path, starts, ["", "Meanwhile,", "In the north,", "As feared,", "Again,"])
    assert archive.ask("When did the Varn port strike end?").date == "2024-10-12"


@pytest.mark.parametrize(
    ("sentence", "ended"),
    [
        ("The 43-day shutdown ended Nov. 12.", True),
        ("The House voted to end the shutdown on Wednesday.", True),
        ("Shutdown unlikely to end today", False),
        ("Congress has until the end of the day on Sept. 30 to avoid a shutdown.", False),
        ("Without an end in sight, the shutdown goes on.", False),
        ("The strike will end on Friday.", False),
    ],
)
def test_what_says_something_ended(sentence: str, ended: bool) -> None:
    assert names_an_end(sentence) is ended


def test_a_title_speaks_of_the_article_s_news_not_of_a_day_it_recalls(tmp_path: Path) -> None:
    title = "Rebels fire rockets at the Dorval outpost for the first time in three years"
    text = "Rebels fired rockets at the Dorval outpost on June 9, killing two guards. The outpost was last hit on May 2, 2021."
    articles = [
        _article("new", "2024-06-10", title, text),
        _article("opened", "2018-03-06", "Dorval outpost", "The Dorval outpost opened on March 5, 2018."),
    ]
    archive = archive_of(tmp_path, articles)
    # The title says the June strike repeats an earlier one; it says nothing of the 2021 strike the
    # article recalls, which is the first (not a day before it, when the outpost opened).
    assert archive.ask("When was the Dorval outpost first hit by rockets?").date == "2021-05-02"


def test_a_date_s_verb_must_be_done_by_the_question_s_parties(tmp_path: Path) -> None:
    texts = [
        ("a1", "2024-05-03", "Border talks", "Ilka Moran and Teo Varga met in Sarn on May 2 to talk about the border."),
        ("a2", "2024-08-20", "Sarn talks", "Ilka Moran met with Pol Denez in Sarn on Monday, Aug. 19, after her talks with Teo Varga."),
    ]
    archive = archive_of(tmp_path, [_article(*text) for text in texts])
    # Both sentences name both, and "met" dates both; but on Aug. 19 Moran met someone else.
    answer = archive.ask("When did Ilka Moran and Teo Varga last meet in person?")
    assert answer.date == "2024-05-02"
    assert answer.citations[0].article_id == "a1"


def test_a_report_of_the_last_time_rules_out_what_came_between(tmp_path: Path) -> None:
    texts = [
        ("e1", "2017-08-22", "Eclipse", "A total eclipse darkened the sky over Varn on Aug. 21, 2017."),
        ("e2", "2023-10-15", "Eclipse", "An annular eclipse was seen in the sky over Varn on Oct. 14, 2023."),
        ("e3", "2024-04-05", "Eclipse", "The last time a total eclipse was seen over Varn was Aug. 21, 2017."),
        ("e4", "2024-04-09", "Eclipse", "A total eclipse was seen over Varn on April 8, 2024."),
    ]
    archive = archive_of(tmp_path, [_article(*text) for text in texts])
    question = "When was a total eclipse last seen over Varn?"
    # Written in April 2024, "the last time ... was Aug. 21, 2017" says the eclipse of October 2023
    # was another kind: as of 2024 the last is 2017's.
    assert archive.ask(question, as_of="2024-01-01").date == "2017-08-21"
    # It says nothing of what came after it was written.
    assert archive.ask(question).date == "2024-04-08"


@pytest.mark.parametrize(
    ("sentence", "last"),
    [
        ("The last time a total eclipse was seen here was Aug. 21, 2017.", True),
        ("Rates rose since the Fed's last rate cut on Sept. 18.", True),
        ("It was the most recent strike, on Jan. 20.", True),
        ("The last day of the strike was Oct. 12.", False),  # the end of one event, not the last of several
        ("A deal came at the last minute on Friday.", False),
        ("It rained last Monday, Oct. 7.", False),
    ],
)
def test_what_calls_a_day_the_last_occurrence(sentence: str, last: bool) -> None:
    assert bool(_LAST_TIME.search(sentence)) is last


def test_the_two_step_search_by_meaning_finds_the_nearest_records(corpus_archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past ``COARSE_MIN_ROWS`` records, candidates are picked by half the coordinates first, then by
    all: the same records as reading every vector whole (here with real encodings of the corpus)."""
    monkeypatch.setattr(events, "COARSE_MIN_ROWS", 0)
    texts = [path.read_text() for path in sorted(CORPUS.rglob("*")) if path.is_file()]
    sentences = list(dict.fromkeys(text[a:b] for text in texts for a, b in split_sentences(text) if b - a > 30))
    vectors = corpus_archive.encoder.encode(sentences).astype(np.float32)
    index = EventIndex(article_ids=["a"] * len(sentences), vectors=vectors)
    assert index._coarse is not None
    rows = np.arange(len(sentences))
    questions = [HEADLINE, "When did the storm reach the coast?", "When did the central bank cut rates?", "Who won the election?"]
    for vector in corpus_archive.encoder.encode_queries(questions):
        for n in (5, 10, 20):
            assert len(rows) > events.COARSE_PER_CANDIDATE * n  # the coarse step is taken
            exact = np.argsort(-(vectors @ vector), kind="stable")[:n]
            assert set(index._nearest(rows, vector, n).tolist()) == set(exact.tolist())


def test_records_that_cannot_reach_the_floor_are_left_unread_and_the_events_are_the_same(
    corpus_archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``score_records(prune=True)`` stops reading records once none left can pass ``group_events``'
    floor: the groups (days, scores, reports) are those of reading every record."""
    questions = [HEADLINE, "When did missiles first hit Al Asad?", "When were the troops at the base hurt?", "When did the floods recede?"]
    kept: dict[bool, list[int]] = {True: [], False: []}

    def events_of(prune: bool) -> list[list[tuple]]:
        def scoring(*args: Any, **kwargs: Any) -> list[when.ScoredRecord]:  # the same call, pruned or not
            scored = when.score_records(*args, **kwargs, prune=prune)
            kept[prune].append(len(scored))
            return scored

        monkeypatch.setattr(archive_module, "score_records", scoring)
        found = []
        for question in questions:
            intent = read_intent(question)
            groups = corpus_archive.dated_events(question, intent, Filters(), timeline=False)
            found.append(sorted((g.day, g.precision, g.score, sorted(m.record.row for m in g.members)) for g in groups))
        return found

    assert events_of(True) == events_of(False)
    assert sum(kept[True]) < sum(kept[False])  # records were left unread


@pytest.mark.parametrize(
    "question", [HEADLINE, "When was the Al Asad Air Base hit?", "When were missiles fired at the Air Base?", "When did Iran strike Anbar?"]
)
def test_names_are_weighed_from_the_postings_as_from_each_record_s_words(corpus_archive: Archive, question: str) -> None:
    """``score_records`` drops records lacking the question's names before reading them, from the
    postings; each record's weight is the one its own context's words give."""
    index = corpus_archive.events
    names = sorted(question_names(question))
    assert names
    idf = corpus_archive.retriever.lexical.idf
    keys = {name: stem_key(name) for name in names}
    rows = np.arange(len(index))
    expected = [sum(idf(n) for n in when._covered(names, keys, with_compounds(index.contexts[row].split()))) for row in rows]
    assert when._name_weights(index, rows, names, keys, idf).tolist() == pytest.approx(expected)
    assert 0 < sum(w > 0 for w in expected) < len(rows)


def test_an_occurrence_a_report_numbers_in_its_series_is_drawn(tmp_path: Path) -> None:
    strong = [
        ("first", "2024-03-04", "Orlen Aerospace flew its Kestrel rocket on a test flight on March 3 from the Varn coast."),
        ("third", "2024-09-10", "Orlen Aerospace flew its Kestrel rocket on a test flight on Sept. 9 from the Varn coast."),
    ]
    leads = ["", "Yesterday,", "As planned,", "At dawn,"]
    articles = [
        _article(f"{id_}-{j}", day, "Kestrel test flight", f"{lead} {text}") for id_, day, text in strong for j, lead in enumerate(leads)
    ]
    # One article numbers the second flight, in words of its own; another numbers a flight but
    # dates something else in the same sentence.
    articles += [
        _article(
            "second",
            "2024-06-14",
            "Orlen Aerospace",
            "The second Kestrel test of Orlen Aerospace on June 12 ended when the upper stage broke apart over the sea.",
        ),
        _article(
            "moved",
            "2024-08-02",
            "Orlen Aerospace",
            "Its third Kestrel test comes after Orlen Aerospace moved its offices to Varn on July 30.",
        ),
    ]
    archive = archive_of(tmp_path, articles)
    timeline = archive.timeline("When did Orlen Aerospace fly Kestrel test flights?")
    assert [event.date for event in timeline.events] == ["2024-03-03", "2024-06-12", "2024-09-09"]


def test_the_last_occurrence_may_be_one_a_report_numbers(tmp_path: Path) -> None:
    leads = ["", "As expected,", "On Wednesday's news,", "In a statement,", "Markets cheered:"]
    first = "The Varn central bank cut interest rates on March 6, easing borrowing costs across Varn."
    title = "Varn central bank cuts interest rates"
    articles = [_article(f"march-{j}", "2024-03-07", title, f"{lead} {first}") for j, lead in enumerate(leads)]
    # One report of a later cut, numbered in its series ("likely the first of several"), its day
    # written between the bank and the verb.
    later = (
        "After months on hold, the Varn central bank on Oct. 2 announced a quarter-point cut in interest rates, "
        "likely the first of several."
    )
    articles.append(_article("october", "2024-10-03", "Varn economy", later))
    archive = archive_of(tmp_path, articles)
    answer = archive.ask("When did the Varn central bank last cut interest rates?")
    assert answer.date == "2024-10-02"
    assert answer.citations[0].article_id == "october"


def test_the_last_occurrence_is_one_done_by_whom_the_question_describes(tmp_path: Path) -> None:
    leads = ["", "Sadly,", "In Varn,", "Flags flew at half-staff:"]
    governor = "Former Governor Ana Rell of Varn died on March 3 at her home, aged 91."
    deputy = "Former Lieutenant Governor Bo Kest of Varn died on Oct. 9 at his home, aged 88."
    articles = [_article(f"rell-{j}", "2024-03-04", "Varn mourns", f"{lead} {governor}") for j, lead in enumerate(leads)]
    articles += [_article(f"kest-{j}", "2024-10-10", "Varn mourns", f"{lead} {deputy}") for j, lead in enumerate(leads)]
    archive = archive_of(tmp_path, articles)
    answer = archive.ask("When did a former Varn governor most recently die?")
    assert answer.date == "2024-03-03"
    # A question that describes no doer still takes the latest.
    assert archive.ask("When did a former Varn official most recently die?").date == "2024-10-09"


def test_a_day_carried_to_the_next_sentence_is_not_a_second_report_of_it(tmp_path: Path) -> None:
    # One article resolves "Tuesday" (its page is dated the next day) and carries it to the sentence
    # that names the base; another writes the day with its number.
    texts = [
        (
            "tuesday",
            "2020-01-08",
            "Rebels hit the air base with more than a dozen rockets Tuesday in retaliation for a drone strike. "
            "The rockets targeted the Varn air base in the western desert and another base in the north.",
        ),
        ("numbered", "2024-01-21", "The Varn air base came under another rocket attack on January 8, 2020 by the rebels."),
    ]
    archive = archive_of(tmp_path, [_article(id_, published, "Varn air base", text) for id_, published, text in texts])
    timeline = archive.timeline("Varn air base hit by rockets")
    assert [event.date for event in timeline.events] == ["2020-01-08"]
