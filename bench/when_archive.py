"""When-questions over the whole 20k archive: a check that the when-set figures hold at scale.

    python bench/when_archive.py [--index indexes/archive] [--json]

`bench/when_archive.jsonl` holds 26 "when" questions (19 single, 2 first, 1 last, 4 as of a day)
that Dateline's developers wrote from the public record, about events of 2022-2025, each with the
day the record gives (`accept`) and an article of ../shared/data/archive that states that day
(`evidence_article`; no text of it is kept here).
Questions whose day the archive does not state, or states wrongly, were left out. None of them
is in ../shared/data/when/, and the archive is eight times that set's slice: the events are new
and the distractors many more. Nothing of the file but `question` and `as_of` is read when answering.

The index is ../shared/data/archive/news-2023-2025.jsonl.gz ingested whole, with its vectors. Made
once, that takes about two hours on two cores (79 min of chunk vectors, 46 of event sentences);
`--index` names a folder that already holds it.
Prints accuracy overall and per kind, each miss, and the publication-day anchor; writes the
figures to bench/results/when-archive-*.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from results_file import ARCHIVE, save  # noqa: E402

from qa import Archive  # noqa: E402
from qa.evaluate_when import evaluate_when  # noqa: E402

QUESTIONS = Path(__file__).resolve().parent / "when_archive.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "indexes" / "archive", help="the archive's index (made when absent)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    questions = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    if not (args.index / "chroma.sqlite3").exists():
        if not ARCHIVE.exists():
            print(f"needs {ARCHIVE}", file=sys.stderr)
            return 2
        print(f"indexing {ARCHIVE.name} into {args.index} (about two hours, once)")
        Archive.open(args.index).ingest([ARCHIVE])
    archive = Archive.open(args.index, create=False)
    started = time.perf_counter()
    records = len(archive.events)  # loaded (or built) before the clock of the first question starts
    print(f"event index ready in {time.perf_counter() - started:.0f} s: {records:,} records")
    report = evaluate_when(archive, questions, llamaindex=False)
    figures = report.model_dump(exclude={"results"})
    figures["misses"] = [
        {"id": r.id, "kind": r.kind, "as_of": r.as_of, "answer": r.date, "precision": r.precision, "accept": r.accept}
        for r in report.results
        if not r.correct
    ]
    kinds = ", ".join(f"{kind} {share:.3f}" for kind, share in report.by_kind.items())
    right = sum(r.correct for r in report.results)
    print(f"date accuracy {report.date_accuracy:.3f} ({right} of {report.questions}): {kinds}")
    print(f"first citation states the day: {report.cited_day_rate:.3f}; p50 {report.p50_ms:.0f} ms, p95 {report.p95_ms:.0f} ms")
    anchor = report.anchors.get("document_date")
    if anchor:
        print(f"publication day of the top search result: {anchor.date_accuracy:.3f}")
    for miss in figures["misses"]:
        print(f"  miss {miss['id']} ({miss['kind']}): {miss['answer']} ({miss['precision']}), accepted {', '.join(miss['accept'])}")
    save("when-archive", figures)
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
