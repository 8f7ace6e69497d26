"""Load on the REST API over loopback: concurrent clients mixing ask, search and streamed ask.

    python bench/load.py [--clients 32] [--seconds 60] [--index indexes/demo] [--ingest] [--json]

Starts `dateline serve` on a free 127.0.0.1 port (building indexes/demo from corpus/ first if it
is missing), runs the clients for a bounded time, and reports requests/s, latency p50/p95/p99,
errors and the server's resident memory before and after. With --ingest, one more client posts
article batches the whole time, to show queries keep answering while an ingest runs.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from results_file import rss_mb, save

ROOT = Path(__file__).resolve().parent.parent
DATELINE = str(ROOT / ".venv" / "bin" / "dateline")
QUESTIONS = [
    "When was Ain al-Asad last hit by ballistic missiles?",
    "Which company released the faulty update that crashed Windows computers?",
    "When did Notre-Dame reopen?",
    "Who became king after Queen Elizabeth II died?",
    "How many drones and missiles did Iran launch at Israel?",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--index", type=Path, default=ROOT / "indexes" / "demo")
    parser.add_argument("--ingest", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (args.index / "chroma.sqlite3").exists():
        subprocess.run([DATELINE, "ingest", str(ROOT / "corpus"), "--index", str(args.index)], check=True, capture_output=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [DATELINE, "serve", "--index", str(args.index), "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                print("server did not start", file=sys.stderr)
                return 2
            time.sleep(0.3)
        for question in QUESTIONS[:2]:  # warm: model, lexical index, the span extractor
            httpx.post(base + "/v1/ask", json={"question": question}, timeout=60)
        rss_before = rss_mb(server.pid)
        latencies: dict[str, list[float]] = {"ask": [], "search": [], "stream": [], "ingest": []}
        errors: list[str] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + args.seconds

        def client(number: int) -> None:
            rng = random.Random(number)
            with httpx.Client(base_url=base, timeout=120) as http:
                while time.monotonic() < stop_at:
                    kind = rng.choice(["ask", "search", "stream"])
                    question = rng.choice(QUESTIONS)
                    started = time.perf_counter()
                    try:
                        if kind == "ask":
                            response = http.post("/v1/ask", json={"question": question})
                        elif kind == "search":
                            response = http.get("/v1/search", params={"q": question, "k": 5})
                        else:
                            with http.stream("POST", "/v1/ask/stream", json={"question": question}) as response:
                                body = "".join(response.iter_text())
                            if "event: done" not in body:
                                raise RuntimeError("stream ended without done")
                        ok = response.status_code == 200
                    except (httpx.HTTPError, RuntimeError) as exc:
                        ok, response = False, None
                        with lock:
                            errors.append(f"{kind}: {exc}")
                    elapsed = (time.perf_counter() - started) * 1000
                    with lock:
                        latencies[kind].append(elapsed)
                        if not ok and response is not None:
                            errors.append(f"{kind}: HTTP {response.status_code}")

        def ingester() -> None:
            with httpx.Client(base_url=base, timeout=300) as http:
                number = 0
                while time.monotonic() < stop_at:
                    batch = [
                        {"id": f"load-{number}-{i}", "title": f"Load test {number}-{i}", "published": "2024-02-01",
                         "text": f"Council meeting {number}-{i} approved the harbour budget on Tuesday. " * 20}
                        for i in range(10)
                    ]  # fmt: skip
                    started = time.perf_counter()
                    response = http.post("/v1/articles", json={"articles": batch})
                    with lock:
                        latencies["ingest"].append((time.perf_counter() - started) * 1000)
                        if response.status_code != 200:
                            errors.append(f"ingest: HTTP {response.status_code}")
                    number += 1

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        if args.ingest:
            threads.append(threading.Thread(target=ingester))
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        rss_after = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(30)

    queries = sorted(ms for kind in ("ask", "search", "stream") for ms in latencies[kind])

    def pct(values: list[float], p: float) -> float:
        return round(values[min(len(values) - 1, int(p * len(values)))], 1) if values else 0.0

    result = {
        "clients": args.clients,
        "seconds": round(wall, 1),
        "requests": len(queries),
        "requests_per_s": round(len(queries) / wall, 2),
        "p50_ms": pct(queries, 0.50),
        "p95_ms": pct(queries, 0.95),
        "p99_ms": pct(queries, 0.99),
        "by_kind_p50_ms": {k: round(statistics.median(v), 1) for k, v in latencies.items() if v},
        "errors": len(errors),
        "error_samples": errors[:5],
        "ingest_batches_during_run": len(latencies["ingest"]),
        "server_rss_mb_before": round(rss_before, 1),
        "server_rss_mb_after": round(rss_after, 1),
    }
    save("load", result)
    for key, value in result.items():
        print(f"{key:>26}: {value}")
    if args.json:
        print(json.dumps(result))
    return 0 if not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
