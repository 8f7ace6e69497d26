"""Kill a real ingest with SIGKILL many times at random moments; check the index after each kill and at the end.

    python bench/crash.py [--kills 20] [--articles 80] [--json]

After every kill: no committed article is missing chunks (``Archive.verify``) and the index still
answers a search. At the end, one more ingest completes the run, and ``dateline stats`` must equal
that of a clean ingest of the same articles.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from results_file import ARCHIVE, save  # noqa: E402

from qa import Archive  # noqa: E402

DATELINE = str(ROOT / ".venv" / "bin" / "dateline")


def dateline(*args: str) -> dict:
    return json.loads(subprocess.run([DATELINE, *args, "--json"], capture_output=True, text=True, check=True).stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--articles", type=int, default=80)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        batch = Path(folder) / "batch.jsonl"
        with gzip.open(ARCHIVE, "rt", encoding="utf-8") as source:
            batch.write_text("".join(itertools.islice(source, args.articles)))
        started = time.perf_counter()
        dateline("ingest", str(batch), "--index", f"{folder}/clean")
        clean_seconds = time.perf_counter() - started
        clean = dateline("stats", "--index", f"{folder}/clean")
        index = Path(folder) / "killed"
        kills = []
        for number in range(args.kills):
            process = subprocess.Popen([DATELINE, "ingest", str(batch), "--index", str(index), "--json"], stdout=subprocess.DEVNULL)
            moment = rng.uniform(0.5, clean_seconds)
            time.sleep(moment)
            finished_first = process.poll() is not None
            process.send_signal(signal.SIGKILL)
            process.wait()
            problems: list[str] = []
            answers = None
            failure = None
            committed = 0
            if (index / "chroma.sqlite3").exists():
                try:
                    archive = Archive.open(index, create=False)
                    problems = [p for p in archive.verify() if p.startswith("article")]
                    committed = archive.stats().articles
                    answers = len(archive.search("election", k=3))
                except Exception as exc:  # a store the kill left unreadable is the finding, not a crash of the bench
                    failure = f"{type(exc).__name__}: {exc}"
            kills.append({"kill": number + 1, "after_s": round(moment, 1), "finished_first": finished_first,
                          "committed_articles": committed, "incomplete_articles": len(problems), "search_results": answers,
                          "failure": failure})  # fmt: skip
            note = f"  FAILED: {failure}" if failure else ""
            print(f"kill {number + 1:>2} at {moment:5.1f} s: {committed:>3} committed, {len(problems)} incomplete, search {answers}{note}")
        try:
            final_report = dateline("ingest", str(batch), "--index", str(index))
            final = dateline("stats", "--index", str(index))
            verify = Archive.open(index, create=False).verify()
        except (subprocess.CalledProcessError, Exception) as exc:
            final_report = {k: None for k in ("articles_added", "articles_updated", "articles_skipped", "chunks")}
            final, verify = {"error": str(exc)}, [str(exc)]
    result = {
        "kills": len(kills),
        "kills_with_incomplete_articles": sum(k["incomplete_articles"] > 0 for k in kills),
        "kills_leaving_index_unreadable": sum(k["failure"] is not None for k in kills),
        "clean_stats": clean,
        "after_rerun_stats": final,
        "rerun_matches_clean": final == clean,
        "rerun_report": {k: final_report[k] for k in ("articles_added", "articles_updated", "articles_skipped", "chunks")},
        "problems_after_rerun": verify,
        "per_kill": kills,
    }
    save("crash", result)
    print({k: v for k, v in result.items() if k != "per_kill"})
    if args.json:
        print(json.dumps(result))
    ok = result["rerun_matches_clean"] and not result["kills_with_incomplete_articles"] and not result["kills_leaving_index_unreadable"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
