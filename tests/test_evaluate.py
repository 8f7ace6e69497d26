"""`dateline eval`: scoring as RealTime QA's README says, on any files in its format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa import Archive
from qa.evaluate import evaluate, matches, normalize
from tests.conftest import CORPUS, HEADLINE
from tests.test_cli import run


def test_scoring_is_whole_words_after_normalising() -> None:
    assert normalize("  Nicolás Maduro's!  ") == "nicolas maduros"
    assert matches("It was Minneapolis, Minnesota.", ["Minneapolis"])
    assert not matches("Minneapolisville", ["Minneapolis"])
    assert matches("about 5 years ago", ["5 years"])
    assert not matches(None, ["x"]) and not matches("anything", [""])


def _questions(tmp_path: Path) -> Path:
    rows = [
        {"id": "q1", "question": HEADLINE, "as_of": "2024-06-01", "answers": ["20 January 2024", "January 20, 2024"]},
        {"id": "q2", "question": HEADLINE, "as_of": "2023-06-01", "answers": ["8 January 2020", "January 8, 2020"]},
        {"id": "q3", "question": "Which company released the faulty update that crashed Windows computers?", "as_of": "2024-07-20",
         "answers": ["CrowdStrike"]},
        {"id": "q4", "question": "Which company released the faulty update that crashed Windows computers?", "as_of": "2024-07-01",
         "answers": ["CrowdStrike"]},
    ]  # fmt: skip
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    baselines = [
        {"question_id": "q1", "model": "m", "setting": "closed-book generation", "prediction": "On 20 January 2024."},
        {"question_id": "q3", "model": "m", "setting": "closed-book generation", "prediction": "Microsoft"},
    ]
    (tmp_path / "baselines.jsonl").write_text("".join(json.dumps(b) + "\n" for b in baselines))
    return path


def test_evaluate_scores_answers_recall_and_baselines(corpus_archive: Archive, tmp_path: Path) -> None:
    from qa.evaluate import read_jsonl

    path = _questions(tmp_path)
    report = evaluate(corpus_archive, read_jsonl(path), read_jsonl(tmp_path / "baselines.jsonl"))
    by_id = {r.id: r for r in report.results}
    assert by_id["q1"].correct and by_id["q2"].correct and by_id["q3"].correct
    assert not by_id["q4"].correct  # as of 1 July 2024 the outage had not been reported
    assert report.accuracy == 0.75 and report.citation_verbatim_rate == 1.0
    assert by_id["q3"].recall_rank == 1
    (row,) = report.baselines
    assert (row.model, row.questions, row.accuracy, row.dateline_on_same) == ("m", 2, 0.5, 1.0)
    without = evaluate(corpus_archive, read_jsonl(path), use_as_of=False)
    assert {r.id: r.correct for r in without.results}["q4"]


def test_eval_command_prints_json_with_the_keys(tmp_path: Path) -> None:
    path = _questions(tmp_path)
    articles = tmp_path / "articles.jsonl"
    articles.write_text((CORPUS / "wire" / "2020-2024-wire.jsonl").read_text())
    rows = tmp_path / "results.jsonl"
    index = str(tmp_path / "i")
    result = run("eval", "--questions", str(path), "--articles", str(articles), "--index", index, "--json", "--results", str(rows))
    assert result.returncode == 0, result.stderr
    written = [json.loads(line) for line in rows.read_text().splitlines()]
    assert [r["id"] for r in written] == ["q1", "q2", "q3", "q4"]  # every question, in order, with how it went
    assert {"prediction", "correct", "recall_rank", "ms"} <= set(written[0])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for key in (
        "questions",
        "accuracy",
        "answer_recall@1",
        "answer_recall@5",
        "answer_recall@10",
        "citation_verbatim_rate",
        "p50_ms",
        "p95_ms",
    ):
        assert key in report
    assert report["questions"] == 4 and report["baselines"][0]["model"] == "m"


def test_answerable_tells_an_answer_stated_on_the_question_from_one_in_passing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "bench"))
    from answerable import answerable

    question = {"id": "q", "question": "Which port was closed by flooding this week?", "as_of": "2024-03-10", "answers": ["Dover"]}
    stated = {"title": "Storm news", "published": "2024-03-08", "text": "Flooding closed the port of Dover on Thursday."}
    passing = {"title": "Weekend guide", "published": "2024-03-08", "text": "Ferries sail from Dover daily. " + "Travel tips. " * 80}
    old = {"title": "Flooding shuts Dover port", "published": "2023-01-05", "text": "The port of Dover was closed by flooding."}
    results = {"q": {"id": "q", "correct": True, "recall_rank": 2}}
    both = answerable([question], [stated, passing], results)
    assert both["on_topic_within_7_days"] == 1.0 and both["dateline_accuracy_on_topic_within_7_days"] == 1.0
    only_passing = answerable([question], [passing, old])
    assert only_passing["within_7_days"] == 1.0  # the answer's words are there...
    assert only_passing["on_topic_within_7_days"] == 0.0  # ...but not stated on the question
    assert only_passing["on_topic_on_or_before_as_of"] == 1.0  # the old report states it (its title holds the terms)


def _when_files(tmp_path: Path) -> tuple[Path, Path]:
    rows = [
        {"id": "w1", "question": HEADLINE, "kind": "last", "as_of": None, "accept": ["2024-01-20"]},
        {"id": "w2", "question": HEADLINE, "kind": "as_of", "as_of": "2023-06-01", "accept": ["2020-01-08"]},
        {"id": "w3", "question": "When was Ain al-Asad first hit by ballistic missiles?", "kind": "first", "as_of": None,
         "accept": ["2020-01-09"]},  # a wrong gold day on purpose: the answer must not count
    ]  # fmt: skip
    questions = tmp_path / "when.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    timelines = tmp_path / "timelines.jsonl"
    events = [{"date": "2020-01-08"}, {"date": "2024-01-20"}, {"date": "2021-12-31"}]
    timelines.write_text(json.dumps({"id": "t1", "query": "Ain al-Asad hit by ballistic missiles", "events": events}) + "\n")
    return questions, timelines


def test_when_questions_are_scored_by_day_kind_citation_and_timeline(corpus_archive: Archive, tmp_path: Path) -> None:
    from qa.evaluate import read_jsonl
    from qa.evaluate_when import evaluate_when, is_when_set

    questions, timelines = _when_files(tmp_path)
    rows = read_jsonl(questions)
    assert is_when_set(rows) and not is_when_set([{"id": "q", "question": "?", "answers": ["x"]}])
    report = evaluate_when(corpus_archive, rows, read_jsonl(timelines), llamaindex=False)
    by_id = {r.id: r for r in report.results}
    assert by_id["w1"].correct and by_id["w2"].correct and not by_id["w3"].correct
    assert by_id["w3"].date == "2020-01-08"
    assert report.date_accuracy == round(2 / 3, 3)
    assert report.by_kind == {"first": 0.0, "last": 1.0, "as_of": 1.0}
    assert report.cited_day_rate == 1.0 and report.citation_verbatim_rate == 1.0
    assert report.timeline is not None
    (timeline,) = report.timeline.each
    assert {"2020-01-08", "2024-01-20"} <= set(timeline.predicted)
    assert report.timeline.recall == round(2 / 3, 3)
    assert set(report.anchors) == {"document_date"}
    assert by_id["w2"].document_date is not None and by_id["w2"].document_date <= "2023-06-01"


def test_eval_command_reads_the_when_format(tmp_path: Path) -> None:
    questions, timelines = _when_files(tmp_path)
    index = tmp_path / "index"
    result = run("eval", "--questions", str(questions), "--articles", str(CORPUS / "iraq"), "--timelines", str(timelines),
                 "--index", str(index), "--no-llamaindex", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"date_accuracy", "by_kind", "cited_day_rate", "timeline", "p50_ms", "p95_ms", "anchors"} <= set(report)
    assert report["date_accuracy"] == round(2 / 3, 3)
    assert {"precision", "recall", "f1"} <= set(report["timeline"])
