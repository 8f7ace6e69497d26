"""How many questions an extractive answerer could get right at all, by where their answers are.

    python bench/answerable.py [--questions FILE] [--articles FILE] [--json]

No index and no model: for each question, whether an accepted answer (normalized and matched as
whole words, as ``dateline eval`` scores) occurs in any article, in an article published on or
before its as-of day, and in one published in the days just before it (7, 14 and 31 days). A
question about "this week" whose answer is only in articles from months earlier is answered by
no extractive system from what it reads; the share within each window bounds what retrieval
over that window can reach. Reads ``answers`` only to count, as evaluation does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from results_file import save  # noqa: E402

from qa.answer import read_intent  # noqa: E402
from qa.evaluate import normalize, read_jsonl  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "realtimeqa"
WINDOWS = (7, 14, 31)


def answerable(questions: list[dict], articles: list[dict]) -> dict[str, float | int]:
    """Shares of ``questions`` whose accepted answer is in the articles of each window."""
    texts = [(str(a.get("published") or ""), f" {normalize(str(a.get('title', '')) + ' ' + str(a.get('text', '')))} ") for a in articles]
    counts = {"anywhere": 0, "on_or_before_as_of": 0, **{f"within_{d}_days": 0 for d in WINDOWS}}
    recent_total = recent_in_window = 0
    for question in questions:
        accepted = [f" {normalize(str(a))} " for a in question.get("answers", []) if normalize(str(a))]
        days = sorted({published for published, text in texts if any(a in text for a in accepted)})
        as_of = str(question.get("as_of") or "9999-12-31")
        before = [day for day in days if day and day <= as_of]
        counts["anywhere"] += bool(days)
        counts["on_or_before_as_of"] += bool(before)
        for window in WINDOWS:
            counts[f"within_{window}_days"] += any(day >= _days_before(as_of, window) for day in before)
        intent = read_intent(str(question["question"]))
        if intent.recent_days:
            # "This week": the days the question is about, and the one before (see Archive.ask).
            recent_total += 1
            recent_in_window += any(day >= _days_before(as_of, intent.recent_days + 1) for day in before)
    n = max(len(questions), 1)
    result: dict[str, float | int] = {"questions": len(questions), "articles": len(articles)}
    result.update({key: round(value / n, 3) for key, value in counts.items()})
    result["recent_questions"] = recent_total
    result["recent_answer_in_their_days"] = round(recent_in_window / max(recent_total, 1), 3)
    return result


def _days_before(day: str, days: int) -> str:
    return (dt.date.fromisoformat(day[:10]) - dt.timedelta(days=days)).isoformat() if day[:4] != "9999" else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=DATA / "questions.jsonl")
    parser.add_argument("--articles", type=Path, default=DATA / "articles.jsonl")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.questions.exists() or not args.articles.exists():
        print(f"needs {args.questions} and {args.articles}", file=sys.stderr)
        return 2
    result = answerable(read_jsonl(args.questions), read_jsonl(args.articles))
    path = save("answerable", result)
    width = max(len(key) for key in result)
    for key, value in result.items():
        print(f"{key:{width}s}  {value}")
    print(f"written to {path.relative_to(ROOT)}")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
