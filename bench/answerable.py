"""How many questions an extractive answerer could get right at all, by where their answers are.

    python bench/answerable.py [--questions FILE] [--articles FILE] [--results FILE] [--json]

No index and no model: for each question, whether an accepted answer (normalized and matched as
whole words, as ``dateline eval`` scores) occurs in any article, in an article published on or
before its as-of day, and in one published in the days just before it (7, 14 and 31 days). A
question about "this week" whose answer is only in articles from months earlier is answered by
no extractive system from what it reads; the share within each window bounds what retrieval
over that window can reach. Reads ``answers`` only to count, as evaluation does.

An answer in an article does not make the article about the question: a live blog or a round-up
names Maine or Australia in passing. So each count is also given for answers *on the question*
(``on_topic_*``): stated within ``NEAR_CHARS`` characters of at least ``--on-topic`` (default
half) of the question's content terms, each weighted by its rarity among the articles, or with
them in the article's title. With ``--results`` (the JSONL that
``dateline eval --results`` writes) Dateline's accuracy and answer-recall@5 are given on each of
these sets, so what is missed for want of evidence and what for want of reading are apart.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from results_file import save  # noqa: E402

from qa.answer import question_terms, read_intent  # noqa: E402
from qa.evaluate import normalize, read_jsonl  # noqa: E402
from qa.names import fold_terms  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "realtimeqa"
WINDOWS = (7, 14, 31)
#: How close (in characters, either side; about a passage) the question's terms must be to an answer on the question.
NEAR_CHARS = 600


def answerable(
    questions: list[dict], articles: list[dict], results: dict[str, dict] | None = None, on_topic: float = 0.5
) -> dict[str, float | int]:
    """Shares of ``questions`` whose accepted answer is in the articles of each window (and in
    articles on the question), with Dateline's ``results`` on each of those sets when given."""
    texts = [f" {normalize(str(a.get('title', '')) + ' ' + str(a.get('text', '')))} " for a in articles]
    days = [str(a.get("published") or "") for a in articles]
    titles = [set(fold_terms(str(a.get("title", "")))) for a in articles]
    frequency = Counter(term for text in texts for term in set(fold_terms(text)))
    n_articles = max(len(articles), 1)

    def idf(term: str) -> float:
        return math.log(1.0 + (n_articles + 0.5) / (frequency.get(term, 0) + 0.5))

    windows = ("anywhere", "on_or_before_as_of", *(f"within_{d}_days" for d in WINDOWS))
    members: dict[str, list[str]] = {key: [] for key in (*windows, *(f"on_topic_{w}" for w in windows))}
    recent_total = recent_in_window = 0
    for question in questions:
        accepted = [f" {normalize(str(a))} " for a in question.get("answers", []) if normalize(str(a))]
        asked = set(question_terms(str(question["question"])))
        total = sum(idf(t) for t in asked) or 1.0
        weights = {t: idf(t) / total for t in asked}
        found = [i for i, text in enumerate(texts) if any(a in text for a in accepted)]
        about = [i for i in found if _on_question(texts[i], titles[i], accepted, weights, on_topic)]
        as_of = str(question.get("as_of") or "9999-12-31")
        for prefix, hits in (("", found), ("on_topic_", about)):
            seen = sorted({days[i] for i in hits})
            before = [day for day in seen if day and day <= as_of]
            inside = {"anywhere": bool(seen), "on_or_before_as_of": bool(before)}
            for window in WINDOWS:
                inside[f"within_{window}_days"] = any(day >= _days_before(as_of, window) for day in before)
            for key, holds in inside.items():
                if holds:
                    members[prefix + key].append(str(question["id"]))
        intent = read_intent(str(question["question"]))
        if intent.recent_days:
            # "This week": the days the question is about, and the one before (see Archive.ask).
            recent_total += 1
            answered_before = [days[i] for i in found if days[i] and days[i] <= as_of]
            recent_in_window += any(day >= _days_before(as_of, intent.recent_days + 1) for day in answered_before)
    n = max(len(questions), 1)
    result: dict[str, float | int] = {"questions": len(questions), "articles": len(articles), "on_topic": on_topic}
    result.update({key: round(len(ids) / n, 3) for key, ids in members.items()})
    result["recent_questions"] = recent_total
    result["recent_answer_in_their_days"] = round(recent_in_window / max(recent_total, 1), 3)
    if results is not None:
        for key, ids in members.items():
            scored = [results[i] for i in ids if i in results]
            m = max(len(scored), 1)
            result[f"dateline_accuracy_{key}"] = round(sum(bool(r["correct"]) for r in scored) / m, 3)
            result[f"dateline_recall@5_{key}"] = round(sum(1 for r in scored if r.get("recall_rank") and r["recall_rank"] <= 5) / m, 3)
    return result


def _on_question(text: str, title: set[str], accepted: list[str], weights: dict[str, float], share: float) -> bool:
    """An accepted answer in ``text`` with ``share`` of the question's weighted terms near it or in the title."""
    for answer in accepted:
        for match in re.finditer(re.escape(answer), text):
            around = title | set(fold_terms(text[max(match.start() - NEAR_CHARS, 0) : match.end() + NEAR_CHARS]))
            if sum(w for t, w in weights.items() if t in around) >= share:
                return True
    return False


def _days_before(day: str, days: int) -> str:
    return (dt.date.fromisoformat(day[:10]) - dt.timedelta(days=days)).isoformat() if day[:4] != "9999" else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=DATA / "questions.jsonl")
    parser.add_argument("--articles", type=Path, default=DATA / "articles.jsonl")
    parser.add_argument("--results", type=Path, default=None, help="per-question results of `dateline eval --results`")
    parser.add_argument("--on-topic", type=float, default=0.5, help="share of the question's weighted terms an article holds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.questions.exists() or not args.articles.exists():
        print(f"needs {args.questions} and {args.articles}", file=sys.stderr)
        return 2
    results = {str(r["id"]): r for r in read_jsonl(args.results)} if args.results else None
    result = answerable(read_jsonl(args.questions), read_jsonl(args.articles), results, args.on_topic)
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
