"""Memory of a threaded bench with and without the malloc arena cap, and how fast it stops on SIGTERM.

    python -m benchmarks.bench_memory_stop --minutes 5

Each arm runs `infinicode bench humaneval --limit 64 --samples 4 --rounds 3 --parallel 16` (the embedded model,
in-process) in a child process for `--minutes`, reading the child's resident set size from /proc every second,
then sends it SIGTERM and times how long it takes to exit. Arms, side by side in one run:
- capped: as infinicode runs by default (glibc malloc arenas capped at 2, agent/provider/malloc_arenas.py);
- uncapped: MALLOC_ARENA_MAX=64 in the environment, which infinicode leaves alone (glibc's default is 8 per core).
Each arm starts from an empty output folder, so both sample the same candidates.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARMS = {"capped": {}, "uncapped": {"MALLOC_ARENA_MAX": "64"}}


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def candidates(out: Path) -> int:
    return sum(sum(1 for _ in path.open()) for path in out.rglob("trajectory.jsonl"))


def run_arm(name: str, extra_env: dict, minutes: float, data: str | None, workdir: Path) -> dict:
    out = workdir / name
    cmd = [sys.executable, "-m", "infinicode.cli", "bench", "humaneval", "--limit", "64", "--samples", "4",
           "--rounds", "3", "--parallel", "16", "--out", str(out)] + (["--data", data] if data else [])
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | extra_env
    log = (workdir / f"{name}.log").open("w")
    child = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    started, peak, samples = time.monotonic(), 0, []
    while time.monotonic() - started < minutes * 60 and child.poll() is None:
        rss = rss_bytes(child.pid)
        peak = max(peak, rss)
        samples.append(rss)
        time.sleep(1.0)
    at_end = rss_bytes(child.pid)
    stop_sent = time.monotonic()
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(timeout=900)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    stopped_s = time.monotonic() - stop_sent
    log.close()
    return {"arm": name, "peak_gb": peak / 1e9, "end_gb": at_end / 1e9, "candidates": candidates(out),
            "ran_s": stop_sent - started, "stop_s": stopped_s, "exit": child.returncode}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long each arm runs before SIGTERM")
    parser.add_argument("--arms", default="capped,uncapped")
    parser.add_argument("--data", default=None, help="folder with the datasets (default: as `infinicode bench`)")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        for name in args.arms.split(","):
            rows.append(run_arm(name, ARMS[name], args.minutes, args.data, Path(tmp)))
            print(f"{name}: done", file=sys.stderr)
    base = rows[0]["peak_gb"] or 1.0
    print("| arm | ran s | candidates | peak RSS GB | RSS at SIGTERM GB | peak vs first arm | exit after SIGTERM s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['arm']} | {r['ran_s']:.0f} | {r['candidates']} | {r['peak_gb']:.2f} | {r['end_gb']:.2f} | "
              f"{r['peak_gb'] / base:.2f}x | {r['stop_s']:.1f} (exit {r['exit']}) |")
    print(f"\nmeasured by `python -m benchmarks.bench_memory_stop {' '.join(argv or sys.argv[1:])}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
