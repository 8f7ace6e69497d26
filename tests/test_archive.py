"""The library end to end on a real Chroma index and the real model."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from qa import Answer, Archive, Article, BadDateError, IndexNotFoundError, Passage
from qa.answer import read_intent
from qa.ingest import read_paths
from tests.conftest import CORPUS, HEADLINE, SEED, needs_shared


def _texts(archive: Archive) -> dict[str, str]:
    return {a.id: a.text for a in read_paths([CORPUS]) if isinstance(a, Article)}


def test_headline_question_gives_the_latest_strike_with_a_verbatim_citation(corpus_archive: Archive) -> None:
    answer = corpus_archive.ask(HEADLINE)
    assert answer.date == "2024-01-20"
    assert answer.precision == "day"
    assert answer.answer == "January 20, 2024"  # as the cited source writes it
    first = answer.citations[0]
    assert first.event_date == "2024-01-20"
    assert "ballistic missiles" in first.quote and "January 20" in first.quote
    texts = _texts(corpus_archive)
    for citation in answer.citations:
        assert texts[citation.article_id][citation.start : citation.end] == citation.quote


def test_as_of_leaves_out_what_happened_later_and_until_what_was_published_later(corpus_archive: Archive) -> None:
    answer = corpus_archive.ask(HEADLINE, as_of="2023-06-01", k=10)
    assert answer.date == "2020-01-08"
    # Reports written after the as-of day about the strike before it are its evidence too.
    assert any(c.published > "2023-06-01" for c in answer.citations)
    known = corpus_archive.ask(HEADLINE, as_of="2023-06-01", until="2023-06-01", k=10)
    assert known.date == "2020-01-08"
    assert all(c.published <= "2023-06-01" for c in known.citations)


def test_later_mentions_do_not_move_the_first_strike(corpus_archive: Archive) -> None:
    # Articles of 2024 and 2025 recall the 2020 strike; its date stays 8 January 2020.
    answer = corpus_archive.ask("When was Ain al-Asad first hit by ballistic missiles?")
    assert answer.date == "2020-01-08"
    timeline = corpus_archive.timeline("Ain al-Asad hit by ballistic missiles")
    days = [e.date for e in timeline.events if e.precision == "day"]
    assert days == sorted(days)
    assert "2020-01-08" in days and "2024-01-20" in days
    (strike_2020,) = [e for e in timeline.events if e.date == "2020-01-08"]
    # Repeated reports merged into one event, later retrospectives among them.
    assert len({c.article_id for c in strike_2020.citations}) >= 2
    assert any(c.published >= "2024-01-01" for c in strike_2020.citations)


@pytest.mark.parametrize("spelling", ["Al Asad Air Base", "al-Assad Airbase", "Ain Assad", "Al-Asad airbase", "Ain al Asad"])
def test_spelling_variants_find_the_same_answer(corpus_archive: Archive, spelling: str) -> None:
    assert corpus_archive.ask(f"When was {spelling} last hit by ballistic missiles?").date == "2024-01-20"


@pytest.mark.parametrize(
    "question",
    [
        "What was the date of the last ballistic missile strike on Ain al-Asad?",
        "On which day was Ain al-Asad last hit by ballistic missiles?",
        "When exactly was Ain al-Asad last hit by ballistic missiles?",
    ],
)
def test_ways_of_asking_for_a_date_find_the_same_answer(corpus_archive: Archive, question: str) -> None:
    answer = corpus_archive.ask(question)
    assert (answer.date, answer.precision) == ("2024-01-20", "day")


def test_year_window_in_the_question(corpus_archive: Archive) -> None:
    since = corpus_archive.ask("When was Ain al-Asad first hit by ballistic missiles since 2021?")
    assert since.date == "2024-01-20"
    during = corpus_archive.ask("When was Ain al-Asad hit by ballistic missiles in 2020?")
    assert during.date == "2020-01-08"


def test_unanswerable_question_says_so_without_citations(corpus_archive: Archive) -> None:
    answer = corpus_archive.ask("Who won the 2026 Tour de France cycling race?")
    assert answer.answer is None and answer.citations == [] and answer.message


def test_search_filters_by_publication_day_and_source(corpus_archive: Archive) -> None:
    everything = corpus_archive.search("missile attack on a base in Iraq", k=20)
    assert len(everything) >= 5
    recent = corpus_archive.search("missile attack on a base in Iraq", k=20, since="2024-01-01")
    assert recent and all(p.published >= "2024-01-01" for p in recent)
    window = corpus_archive.search("missile attack on a base in Iraq", k=20, since=dt.date(2020, 1, 1), until="2020-12-31")
    assert window and all("2020" <= p.published <= "2020-12-31" for p in window)
    post = corpus_archive.search("missile attack on a base in Iraq", k=20, source="Dateline Sample Post")
    assert post and {p.source for p in post} == {"Dateline Sample Post"}
    with pytest.raises(BadDateError):
        corpus_archive.search("x", since="not a day")


def test_reingest_is_idempotent_and_changes_replace_old_chunks(empty_archive: Archive, tmp_path: Path) -> None:
    first = empty_archive.ingest([CORPUS / "iraq"])
    assert first.articles_added == 11 and first.chunks >= 11
    before = empty_archive.stats()
    again = empty_archive.ingest([CORPUS / "iraq"])
    assert (again.articles_added, again.articles_updated, again.articles_skipped, again.chunks) == (0, 0, 11, 0)
    assert empty_archive.stats() == before

    original = empty_archive.article("dl-2024-01-21-al-asad")
    assert original is not None
    changed = original.model_copy(update={"text": "A short correction: the base was not hit. " * 3})
    report = empty_archive.ingest([changed])
    assert report.articles_updated == 1
    assert empty_archive.stats().articles == before.articles
    hits = empty_archive.search("Al Asad Air Base ballistic missiles Saturday evening", k=50)
    mine = [p for p in hits if p.article_id == changed.id]
    assert mine and all(p.text in changed.text for p in mine)  # no stale chunk of the old text


@needs_shared(SEED)
def test_seed_article_answers_the_headline_question(empty_archive: Archive) -> None:
    empty_archive.ingest([SEED, CORPUS / "world"])
    answer = empty_archive.ask(HEADLINE)
    assert answer.date == "2024-01-20"
    (seed,) = [a for a in read_paths([SEED]) if isinstance(a, Article)]
    cited = [c for c in answer.citations if c.article_id == seed.id]
    assert cited and all(seed.text[c.start : c.end] == c.quote for c in cited)
    assert any("Jan. 20" in c.quote or "January 20" in c.quote for c in cited)


def test_opening_a_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="dateline ingest"):
        Archive.open(tmp_path / "nothing-here", create=False)


def test_syndicated_copies_are_collapsed_and_kept_as_sources(corpus_archive: Archive) -> None:
    results = corpus_archive.search("Hunga Tonga volcano eruption tsunami", k=5)
    tonga = [p for p in results if "Tonga" in p.title]
    assert len(tonga) == 1  # two sites carried the same wire story: one result
    (copy,) = tonga[0].copies
    assert copy.exact and {tonga[0].article_id, copy.article_id} == {"dl-2022-01-15-tonga", "dl-2022-01-16-tonga-copy"}
    answer = corpus_archive.ask("When did the Hunga Tonga-Hunga Ha'apai volcano erupt?")
    assert answer.date == "2022-01-15"
    first = answer.citations[0]
    texts = _texts(corpus_archive)
    assert first.copies and all(texts[c.article_id][c.start : c.end] == first.quote for c in first.copies)


@pytest.mark.parametrize(
    ("question", "days"),
    [
        ("Which base in Iraq was hit by missiles this week?", 7),
        ("Which base was hit on Wednesday?", 7),
        ("Which base was recently hit?", 31),
        ("Which base was hit last week?", 14),
        ("When was the base most recently hit?", None),  # an order, not a window
        ("Where does the mother of “Today” anchor live?", None),  # a name, not a day
        ("Which base was hit in 2020?", None),
    ],
)
def test_questions_about_the_last_days_read_a_window(question: str, days: int | None) -> None:
    assert read_intent(question).recent_days == days


@pytest.mark.parametrize(
    ("question", "when", "future"),
    [
        ("Finally, when does summer officially begin?", True, True),  # a linking word before the question
        ("Ted Turner died this week. In which year did he launch CNN?", True, False),  # a sentence before it
        ("When will the trial start?", True, True),
        ("When was the base last hit?", True, False),  # "last": what has happened by the as-of day
        ("Which team won, when the season ended?", False, False),
    ],
)
def test_the_sentence_that_asks_says_whether_a_date_is_wanted(question: str, when: bool, future: bool) -> None:
    intent = read_intent(question)
    assert (intent.when, intent.future) == (when, future)


def test_a_question_in_the_future_tense_is_answered_with_a_date_after_the_as_of_day(empty_archive: Archive) -> None:
    empty_archive.ingest(
        [
            Article(
                id="fair",
                title="County fair returns",
                published=dt.date(2024, 5, 2),
                text="The county fair will open on June 14 this year, organisers said on Thursday. Tickets go on sale next week.",
            )
        ]
    )
    asked = empty_archive.ask("When does the county fair open?", as_of="2024-05-10")
    assert asked.date == "2024-06-14" and asked.answer == "June 14, 2024"  # written month first, as the source does
    past = empty_archive.ask("When did the county fair open?", as_of="2024-05-10")
    assert past.date != "2024-06-14"


def test_this_week_reads_the_week_before_the_as_of_day_first(empty_archive: Archive) -> None:
    # A month-old report matches the question's words better; this week's report is the answer.
    empty_archive.ingest(
        [
            Article(
                id="old",
                title="Flooding closes the port of Harwich",
                published=dt.date(2024, 2, 1),
                text="Flooding closed the port of Harwich on Tuesday. The port was closed by flooding for a day, "
                "the port authority said, and ferries waited offshore until the water fell.",
            ),
            Article(
                id="new",
                title="Flooding shuts Dover",
                published=dt.date(2024, 3, 8),
                text="Flood water closed the port at Dover on Thursday. Ferries stayed at sea while crews "
                "pumped the quays dry, officials said.",
            ),
        ]
    )
    question = "Which port was closed by flooding this week?"
    steps = list(empty_archive.ask_stream(question, as_of="2024-03-10"))
    assert [s.article_id for s in steps if isinstance(s, Passage)] == ["new", "old"]  # that week first, then the rest
    answer = steps[-1]
    assert isinstance(answer, Answer) and answer.citations[0].article_id == "new"
    assert {c.article_id for c in answer.citations} == {"new"}  # the older report is not used
    # Without "this week" the better-worded month-old report answers too (either port does).
    plain = empty_archive.ask("Which port was closed by flooding?", as_of="2024-03-10")
    assert "old" in {c.article_id for c in plain.citations} and plain.answer in ("Harwich", "Dover")


def test_passages_are_shown_by_retrieval_and_best_sentence_together() -> None:
    from qa.answer import Sentence
    from qa.archive import _by_sentences

    passages = [Passage(article_id=f"a{i}", chunk_id=f"c{i}", text="x", start=0, end=1) for i in range(12)]
    relevance = {"c0": 0.8, "c11": 0.9}  # the last found states the answer best; the first nearly as well
    sentences = [
        Sentence(passage=p, start=0, end=1, text="x", events=[], relevance=relevance.get(p.chunk_id, 0.5 - i / 100))
        for i, p in enumerate(passages)
    ]
    shown = [p.chunk_id for p in _by_sentences(passages, sentences)]
    assert sorted(shown) == sorted(p.chunk_id for p in passages)  # the same passages, none lost or repeated
    assert shown[0] == "c0"  # first found and second best stays first
    assert shown.index("c11") < 6  # the best sentence lifts its passage from last into the top half
    assert shown.index("c1") < shown.index("c2") < shown.index("c3")  # agreeing orders are kept
