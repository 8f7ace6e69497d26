"""The headline question on real reporting: every archive article that names Ain al-Asad, plus others.

    python bench/ain_al_asad.py [--others 300] [--json]

Reads ../shared/data/archive/news-2023-2025.jsonl.gz, keeps the articles that mention the base
under any spelling (found with Dateline's own name folding: "asad" next to "base", "airbase" or
"air base"), adds the seed article and the first N other articles as distractors, indexes them
in a fresh index and prints what the headline question (as of several days, and asked for the
first strike) and a timeline give.

It checks the answers against the public record, which the archive's reporting states: Iranian
ballistic missiles hit the base on 8 January 2020, and Iran-backed militants fired ballistic
missiles at it on 20 January 2024. So "last" is 2024-01-20, "last as of 2023-06-01" and "first"
are 2020-01-08, and the timeline must hold both days and only strikes on the base: every event's
first report must come from an article that names the base (the folded name next to "base",
"airbase" or "air base").
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from results_file import ARCHIVE, save  # noqa: E402

from qa import Archive, Article, TimelineEvent  # noqa: E402
from qa.ingest import read_paths  # noqa: E402
from qa.names import fold_terms  # noqa: E402

SHARED = ROOT.parent / "shared"
SEED = SHARED / "seed"
QUESTION = "When was Ain al-Asad last hit by ballistic missiles?"
FIRST = "When was Ain al-Asad first hit by ballistic missiles?"
#: The public record (see the docstring): what each question must answer.
EXPECTED = {"now": "2024-01-20", "2023-06-01": "2020-01-08", "first": "2020-01-08"}


def names_the_base(article: Article) -> bool:
    terms = fold_terms(article.text)
    return any(t == "asad" and {"base", "airbase", "air"} & set(terms[i + 1 : i + 3]) for i, t in enumerate(terms))


def _cites_the_base(archive: Archive, event: TimelineEvent) -> bool:
    """Whether the event's first report comes from an article that names the base (its quote may
    name only the day, the base being named in the sentence before)."""
    article = archive.article(event.citations[0].article_id) if event.citations else None
    return article is not None and names_the_base(article)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--others", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--index", type=Path, default=None, help="keep the index here (default: a temporary folder)")
    args = parser.parse_args()
    if not ARCHIVE.exists():
        print(f"needs {ARCHIVE}", file=sys.stderr)
        return 2
    mentions: list[Article] = []
    others: list[Article] = []
    for record in read_paths([ARCHIVE]):
        if not isinstance(record, Article):
            continue
        if names_the_base(record):
            mentions.append(record)
        elif len(others) < args.others:
            others.append(record)
    seed = [a for a in read_paths([SEED]) if isinstance(a, Article)] if SEED.exists() else []
    print(f"{len(mentions)} archive articles name the base; with the seed and {len(others)} others as distractors")
    for article in sorted(mentions, key=lambda a: a.published_day or ""):
        print(f"  {article.published_day}  {article.title[:90]}")

    with tempfile.TemporaryDirectory() as folder:
        archive = Archive.open(args.index or Path(folder) / "index")
        started = time.perf_counter()
        report = archive.ingest(itertools.chain(mentions, seed, others))
        print(f"indexed {report.articles_added} articles, {report.chunks} chunks in {time.perf_counter() - started:.0f} s")
        results = {}
        for as_of in (None, "2023-06-01", "2020-01-07"):
            answer = archive.ask(QUESTION, as_of=as_of)
            first = answer.citations[0] if answer.citations else None
            results[str(as_of)] = {
                "date": answer.date,
                "quote": first.quote if first else None,
                "article": first.title if first else None,
                "published": first.published if first else None,
            }
            print(f"\nas of {as_of or 'now'}: {answer.answer}  (date {answer.date})")
            if first:
                print(f"  “{first.quote}”\n  — {first.title}, {first.source}, {first.published}")
        first = archive.ask(FIRST)
        results["first"] = {"date": first.date, "quote": first.citations[0].quote if first.citations else None}
        print(f"\nfirst: {first.answer}  (date {first.date})")
        timeline = archive.timeline("Ain al-Asad air base hit by missiles")
        print("\ntimeline:")
        for event in timeline.events:
            print(f"  {event.date} ({event.precision})  {event.quote[:110]}  [{len(event.citations)} source(s)]")
        results["timeline"] = [
            {"date": e.date, "precision": e.precision, "sources": len(e.citations), "names_the_base": _cites_the_base(archive, e)}
            for e in timeline.events
        ]
    checks = {
        "last": results["None"]["date"] == EXPECTED["now"],
        "last as of 2023-06-01": results["2023-06-01"]["date"] == EXPECTED["2023-06-01"],
        "first": results["first"]["date"] == EXPECTED["first"],
        "timeline holds both strikes": {EXPECTED["first"], EXPECTED["now"]} <= {e["date"] for e in results["timeline"]},
        "timeline holds only the base": all(e["names_the_base"] for e in results["timeline"]),
    }
    results["checks"] = checks
    print("\nchecks: " + ", ".join(f"{name} {'ok' if ok else 'WRONG'}" for name, ok in checks.items()))
    save("ain-al-asad", results)
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
