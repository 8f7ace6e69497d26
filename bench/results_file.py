"""Where every benchmark writes its figures (bench/results/NAME-YYYYmmdd-HHMMSS.json), the shared
archive the ingest benchmarks read, and how they read a process's resident memory."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
#: 20,189 real articles in ../shared/data beside the project (never copied into it).
ARCHIVE = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "archive" / "news-2023-2025.jsonl.gz"


def save(name: str, figures: Any) -> Path:
    """Write ``figures`` as JSON under bench/results/ and return the file's path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    return path


def rss_mb(pid: int | str = "self") -> float:
    """A process's resident memory now (not its peak), in MB, from /proc; NaN where there is none."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan
