"""Short answers: the span that answers what the question asks for, cited in its sentence."""

from __future__ import annotations

import pytest

from qa import Archive
from qa.spans import NUMBER, ORGANISATION, PERSON, PLACE, SpanExtractor


@pytest.mark.parametrize(
    ("question", "labels", "noun"),
    [
        ("Which US city was the center of a major immigration crackdown this week?", PLACE, None),
        ("Where was the ousted president captured?", PLACE, None),
        ("Which automaker has overtaken Tesla as the largest seller of electric vehicles?", ORGANISATION, None),
        ("Who is the chief executive of the bank?", PERSON, None),
        ("How many drones did Iran launch?", NUMBER, None),
        ("What type of fish fetched a record price at auction?", set(), "fish"),
        # whatever the tagger made of the words before the noun
        ("Which sportswear chain filed for bankruptcy this week?", ORGANISATION, None),  # "sportswear" tagged a verb
        ("Which watch brand had to close stores?", ORGANISATION, None),
        ("The cruise ship may dock at which Canary Island?", PLACE, None),  # the kind inside a name
        ("Which of the following cities has the world's worst air?", PLACE, None),
        ("Disney has yet to recoup its investment in which of its theme parks?", set(), "parks"),
        ("Recordings offer fresh insight into which 20th-century playwright?", PERSON, None),
        ("Divers found the wreck of which 18th-century merchant ship?", set(), "ship"),
        # nouns that name a kind of entity
        ("Which comedian does the administration want fired?", PERSON, None),
        ("Which famous stadium will host the opening ceremony?", PLACE, None),
        ("The price of gas surpassed which milestone this week?", NUMBER, None),
    ],
)
def test_answer_type_from_the_question(question: str, labels: set[str], noun: str | None) -> None:
    wanted = SpanExtractor.shared().answer_type(question)
    assert labels <= wanted.labels and wanted.noun == noun


def test_the_kind_asked_for_keeps_the_words_that_narrow_it() -> None:
    spans = SpanExtractor.shared()
    assert spans.answer_type("Which European country elected a former fighter pilot as prime minister?").kind == "European country"
    assert spans.answer_type("Which pop star got married on Sunday?").kind == "pop star"
    assert not spans.answer_type("Who is the White House chief of staff?").kind  # a title, not a kind


def test_a_name_like_the_kind_asked_for_beats_one_of_the_same_label(corpus_archive: Archive) -> None:
    spans = SpanExtractor.shared()
    question = "Which continent is facing the heat wave?"
    wanted = spans.answer_type(question)
    sentences = [
        ("Forecasters in Madrid said the heat wave began on Monday.", 1.0),
        ("Temperatures across Europe passed 40C in the heat wave.", 0.95),
    ]
    assert spans.best_span(question, sentences, wanted).text == "Madrid"  # the more relevant sentence
    chosen = spans.best_span(question, sentences, wanted, similarity=corpus_archive.encoder.similarity)
    assert chosen is not None and chosen.text == "Europe"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Who became king after Queen Elizabeth II died?", "Charles III"),
        ("How many drones and missiles did Iran launch at Israel in April 2024?", "more than 300"),
        ("Which company released the faulty update that crashed Windows computers?", "CrowdStrike"),
        ("Which ship blocked the Suez Canal?", "Ever Given"),
    ],
)
def test_short_answer_is_a_span_of_the_first_citation(corpus_archive: Archive, question: str, expected: str) -> None:
    answer = corpus_archive.ask(question)
    assert answer.answer is not None and expected in answer.answer
    assert len(answer.answer) < 40
    assert answer.answer in answer.citations[0].quote


def test_candidates_that_repeat_the_question_are_not_answers() -> None:
    spans = SpanExtractor.shared()
    question = "Which country did Argentina beat in the final?"
    span = spans.best_span(question, [("Argentina beat France on penalties in the final.", 0.8)], spans.answer_type(question))
    assert span is not None and span.text == "France"


def test_names_found_everywhere_weigh_less_and_short_names_join_their_full_form() -> None:
    spans = SpanExtractor.shared()
    question = "Which city did the storm hit?"
    wanted = spans.answer_type(question)
    sentences = [
        ("Officials in the U.S. said the storm hit hard.", 1.0),
        ("Forecasters in the U.S. said the storm hit at night.", 1.0),
        ("The storm hit Tampa before dawn.", 0.8),
    ]
    common = {"u": 0.1, "s": 0.1}
    assert spans.best_span(question, sentences, wanted).text == "U.S."  # two votes to one
    chosen = spans.best_span(question, sentences, wanted, specificity=lambda term: common.get(term, 0.9))
    assert chosen is not None and chosen.text == "Tampa"

    question = "Who filed the defamation suit?"
    sentences = [
        ("Kash Patel filed a defamation suit on Monday.", 0.9),
        ("Patel said the suit would go ahead.", 1.0),
        ("Patel filed it in federal court, his lawyer Jesse Binnall said.", 1.0),
    ]
    chosen = spans.best_span(question, sentences, spans.answer_type(question))
    assert chosen is not None and chosen.text == "Kash Patel"


@pytest.mark.parametrize(
    ("question", "sentences", "expected"),
    [
        # A people's adjective names its country when the question asks for one.
        (
            "An athlete from which country was disqualified for wearing a banned helmet?",
            ["The Ukrainian skeleton racer was disqualified on Thursday over his helmet."],
            "Ukraine",
        ),
        # A plural noun is answered in the number the question asked in.
        (
            "Which marine mammal has the navy trained to find mines?",
            ["The navy has trained bottlenose dolphins to find mines since the 1960s."],
            "bottlenose dolphin",
        ),
        # Films and songs are named in quotation marks; titles keep their own number.
        ("Which film set the record for the most nominations?", ["“Sinners” set a record with 16 nominations this year."], "Sinners"),
        # US style puts the comma inside the quotes; a quoted nickname inside a name is no title.
        (
            "Which film won the first Academy Award for best picture?",
            ['"Wings," a drama starring Charles "Buddy" Rogers, won the first Academy Award for best picture.'],
            "Wings",
        ),
        # "How many days": a count of days may be written as one ("a 10-day journey").
        ("How many days did the mission last?", ["The crew returned from a 10-day journey around the moon on Friday."], "10-day"),
        # A title stands whole, whatever names the tagger finds inside it.
        (
            "Which talk show ended after an 11-year run?",
            ["CBS ended “The Late Show with Stephen Colbert” on Thursday after an 11-year run."],
            "The Late Show with Stephen Colbert",
        ),
        # "How many years": the number stated with years, not any number, nor a day.
        (
            "How many years has it been since the invasion began?",
            ["On Tuesday, four years after the invasion began, millions of people marched in 30 cities."],
            "four years",
        ),
    ],
)
def test_the_answer_takes_the_form_the_question_asks_for(question: str, sentences: list[str], expected: str) -> None:
    spans = SpanExtractor.shared()
    chosen = spans.best_span(question, [(text, 1.0) for text in sentences], spans.answer_type(question))
    assert chosen is not None and chosen.text == expected


def test_quoted_speech_is_not_a_title() -> None:
    spans = SpanExtractor.shared()
    question = "Which film did the director defend?"
    chosen = spans.best_span(question, [("“We will keep fighting,” the director said of “Wings”.", 1.0)], spans.answer_type(question))
    assert chosen is not None and chosen.text == "Wings"


@pytest.mark.parametrize(
    ("question", "sentences", "expected"),
    [
        # A title asked about is not a kind to liken names to: "Susie Wiles" is unlike "chief of staff".
        (
            "Who is the White House chief of staff?",
            [
                ("Trump named his campaign adviser Susie Wiles as his White House chief of staff.", 1.0),
                ("The attorney had also been considered as a possible White House chief of staff.", 0.85),
            ],
            "Susie Wiles",
        ),
        # A film's title says nothing of films to a sentence encoder ("Sinners"), a famous one does
        # ("Titanic"): likeness to "film" would pick the famous one whatever the sentences say.
        (
            "Which film set the record for the most nominations?",
            [
                ('The film "Sinners" leads the Academy Awards with a record-breaking 16 nominations.', 1.0),
                ('It breaks the previous record of 14 shared by "Titanic," "All About Eve" and "La La Land."', 0.75),
            ],
            "Sinners",
        ),
    ],
)
def test_no_likeness_to_a_title_or_among_titles(
    corpus_archive: Archive, question: str, sentences: list[tuple[str, float]], expected: str
) -> None:
    spans = SpanExtractor.shared()
    chosen = spans.best_span(question, sentences, spans.answer_type(question), similarity=corpus_archive.encoder.similarity)
    assert chosen is not None and chosen.text == expected


def test_which_two_is_answered_by_two_names_joined_in_one_sentence() -> None:
    spans = SpanExtractor.shared()
    question = "Which two states filed lawsuits against the administration this week?"
    wanted = spans.answer_type(question)
    assert wanted.count == 2 and wanted.labels >= PLACE
    sentences = [("Texas said it would not join the suit.", 1.0), ("Minnesota and Illinois sued the administration on Monday.", 0.9)]
    chosen = spans.best_span(question, sentences, wanted)
    assert chosen is not None and chosen.text == "Minnesota and Illinois"
    # One name alone does not answer it: no short answer, the sentence is given instead.
    assert spans.best_span(question, sentences[:1], wanted) is None


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        ("Who is the most decorated American Winter Olympian?", "- Apolo Ohno becomes most decorated Winter Olympian.", "Apolo Ohno"),
        ("The dealer was sentenced over the death of which actor?", "She sold the pills behind Matthew Perry's death.", "Matthew Perry"),
    ],
)
def test_a_name_is_answered_without_punctuation_or_a_possessive_around_it(question: str, sentence: str, expected: str) -> None:
    spans = SpanExtractor.shared()
    chosen = spans.best_span(question, [(sentence, 1.0)], spans.answer_type(question))
    assert chosen is not None and chosen.text == expected
    assert sentence[chosen.start : chosen.end] == expected


def test_which_country_wants_a_country_not_a_place_in_one() -> None:
    spans = SpanExtractor.shared()
    question = "Which country issued warnings after shark attacks this week?"
    wanted = spans.answer_type(question)
    sentences = [
        ("Officials in Florida closed two beaches on Monday.", 1.0),
        ("Australia issued warnings for its east coast after the attacks.", 0.9),
        ("Japan, Vietnam and Thailand were also named in the report.", 0.6),
    ]
    chosen = spans.best_span(question, sentences, wanted)
    assert chosen is not None and chosen.text == "Australia"
    listed = spans.best_span(question, sentences[2:], wanted)
    assert listed is not None and listed.text in ("Japan", "Vietnam", "Thailand")  # a list of countries is not one place


def test_how_many_times_counts_times_though_times_is_a_stop_word() -> None:
    spans = SpanExtractor.shared()
    question = "How many times has the United States hosted the Winter Olympics?"
    wanted = spans.answer_type(question)
    assert wanted.unit == "time"
    sentence = "Across 12 cities, the United States has hosted the Winter Games four times."
    chosen = spans.best_span(question, [(sentence, 1.0)], wanted)
    assert chosen is not None and chosen.text == "four"
