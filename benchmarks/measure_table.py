"""The README's results table: the model on HumanEval and the MBPP test split, refinement against resampling.

    python -m benchmarks.measure_table --limit 20 --samples 4 --rounds 3

For each suite it runs `infinicode bench SUITE --baseline resample` (same sample budget per round, no feedback)
into `<out>/<suite>`, then prints one markdown table. The runs resume, so an interrupted measurement continues
where it stopped; run it again with the same options to print the table from the finished runs.

Columns: pass@1 of one round-0 sample (unbiased, n = samples per task), the share of tasks solved after round 0
(the best of the first `samples` candidates, judged by the tests), after all rounds of refinement, and after
the same number of rounds of plain resampling. The two arms share round 0 (resampling takes refinement's
round-0 candidates): resampling's tokens include round 0's, and its task seconds count only its own rounds.

A whole-suite table takes longer than one sitting: with `--ledger FILE` the tasks run in chunks (both arms of a
chunk before the next), each finished task goes into FILE (benchmarks/table_ledger.py), a later run skips the
tasks already there, and the table is computed from FILE. `--print-only` prints it without running anything.

    python -m benchmarks.measure_table --suites mbpp,mbppplus --ledger benchmarks/results/full-table.jsonl
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from dataclasses import replace
from pathlib import Path

SUITE_NAMES = {"humaneval": "HumanEval", "mbpp": "MBPP (sanitized, test split)", "mbppplus": "MBPP+"}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def table(rows: list[dict]) -> str:
    lines = ["| suite | tasks | samples x rounds | pass@1 (round 0) | solved after round 0 | after refinement "
             "| resampling, same budget | tokens (refine / resample) | task s, summed (refine / resample) | wall s |",
             "| --- | ---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        res, base = r["results"], r["results"]["baseline"]
        curve, base_curve = res["pass1_by_round"], base["pass1_by_round"]
        tasks = res["tasks"] if res.get("tasks_total", res["tasks"]) == res["tasks"] else \
            f"{res['tasks']} of {res['tasks_total']}"
        lines.append(
            f"| {SUITE_NAMES.get(res['suite'], res['suite'])} | {tasks} | "
            f"{res['settings'].get('samples')} x {res['settings'].get('rounds')} | {_pct(res['pass_at'].get('1'))} | "
            f"{_pct(curve[0] if curve else None)} | {_pct(curve[-1] if curve else None)} | "
            f"{_pct(base_curve[-1] if base_curve else None)} | {res['tokens']} / {base['tokens']} | "
            f"{res['wall_s']:.0f} / {base['wall_s']:.0f} | {res.get('bench_wall_s') or 0:.0f} |")
    return "\n".join(lines)


def solved_tasks(rows: list[dict]) -> str:
    """Which tasks each arm solved, with the round of its first passing candidate: what the table's shares are
    made of ("HumanEval/28 (round 1)")."""
    lines = []
    for r in rows:
        res = r["results"]
        for arm, data in (("refinement", res), ("resampling", res["baseline"])):
            solved = [f"{t['task_id']} (round {t['solved_in_round']})" for t in data.get("per_task", [])
                      if t.get("solved")]
            lines.append(f"{SUITE_NAMES.get(res['suite'], res['suite'])}, {arm}: {len(solved)} solved"
                         + (f": {', '.join(solved)}" if solved else ""))
    return "\n".join(lines)


def run_ledgered(config, args, generator, sandbox, console) -> dict:
    """The suite's tasks not yet in the ledger, chunk by chunk, each chunk's lines appended as it ends; then the
    suite's results from the ledger."""
    from benchmarks import table_ledger
    from benchmarks.run_bench import run_bench
    from benchmarks.suites import load_suite, select_tasks

    ids = [t.task_id for t in select_tasks(load_suite(config.suite, config.data).tasks, None, config.limit)]
    settings = table_ledger.settings_of(config)
    done = table_ledger.read(args.ledger, config.suite, settings)
    todo = [task_id for task_id in ids if task_id not in done]
    console.print(f"{config.suite}: {len(ids) - len(todo)} of {len(ids)} tasks already in {args.ledger}")
    for start in range(0 if not args.print_only else len(todo), len(todo), max(1, args.chunk)):
        if args.max_chunks is not None and args.chunks_run >= args.max_chunks:
            console.print(f"{config.suite}: stopping after {args.chunks_run} chunks (--max-chunks)")
            break
        args.chunks_run += 1
        chunk = todo[start:start + args.chunk]
        results = run_bench(replace(config, tasks=chunk), generator=generator, sandbox=sandbox, console=console)
        written = table_ledger.append(args.ledger, config.suite, settings, results)
        console.print(f"{config.suite}: {written} more tasks in {args.ledger} "
                      f"({len(ids) - len(todo) + start + len(chunk)} of {len(ids)})")
    done = table_ledger.read(args.ledger, config.suite, settings)
    results = table_ledger.results_from([done[i] for i in ids if i in done], config.suite, settings)
    results["tasks_total"] = len(ids)
    return results


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    from agent.errors import UserError
    from benchmarks.run_bench import BenchConfig, LazyModel, run_bench
    from sandbox.errors import SandboxError

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suites", default="humaneval,mbpp", help="comma-separated: humaneval, mbpp, mbppplus")
    parser.add_argument("--limit", type=int, default=None, help="first N tasks of each suite (default: all)")
    parser.add_argument("--samples", type=int, default=4, help="candidates per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the loop")
    parser.add_argument("--max-new-tokens", type=int, default=384)
    parser.add_argument("--model", default=None, help="default: the embedded SmolLM2-135M-Instruct")
    parser.add_argument("--adapter", default=None)
    parser.add_argument("--server", action="append", default=None,
                        help="OpenAI-compatible API base URL (repeatable); default: in-process or $OPENAI_BASE_URL")
    parser.add_argument("--quantization", default="nf4")
    parser.add_argument("--data", default=None, help="folder with the datasets (default: as `infinicode bench`)")
    parser.add_argument("--parallel", type=int, default=16, help="tasks in flight (as `infinicode bench`)")
    parser.add_argument("--out", default="runs/table", help="output folder; one sub-folder per suite")
    parser.add_argument("--ledger", default=None, help="JSONL of finished tasks: skip those, add new ones, "
                                                       "and compute the table from it (benchmarks/table_ledger.py)")
    parser.add_argument("--chunk", type=int, default=32, help="with --ledger: tasks per chunk (both arms)")
    parser.add_argument("--print-only", action="store_true", help="with --ledger: print its table, run nothing")
    parser.add_argument("--max-chunks", type=int, default=None,
                        help="with --ledger: run at most N chunks, then print the table so far (a loop that starts "
                             "one process per chunk keeps a long run's memory from growing)")
    args = parser.parse_args(argv)
    args.chunks_run = 0
    if args.print_only and not args.ledger:
        parser.error("--print-only reads a --ledger FILE")

    console = Console(stderr=True)
    rows = []
    started = time.monotonic()
    try:
        from sandbox import Sandbox

        def load():
            from agent.provider import make_provider

            console.print(f"loading model {args.model or '(default)'} ({args.server or args.quantization}) ...")
            return make_provider(model=args.model, server=args.server, adapter=args.adapter,
                                 quantization=args.quantization)

        generator = LazyModel(load)
        # printing a ledger's table starts nothing
        with contextlib.nullcontext() if args.print_only else Sandbox() as sandbox:
            for suite in [s.strip() for s in args.suites.split(",") if s.strip()]:
                if suite not in SUITE_NAMES:
                    raise UserError(f"--suites: {suite!r} is not one of {', '.join(SUITE_NAMES)}")
                config = BenchConfig(suite=suite, data=args.data, samples=args.samples, rounds=args.rounds,
                                     limit=args.limit, model=args.model, adapter=args.adapter,
                                     quantization=args.quantization, baseline="resample",
                                     max_new_tokens=args.max_new_tokens, out=str(Path(args.out) / suite),
                                     parallel=args.parallel)
                if args.ledger:
                    rows.append({"results": run_ledgered(config, args, generator, sandbox, console)})
                else:
                    rows.append({"results": run_bench(config, generator=generator, sandbox=sandbox,
                                                      console=console)})
    except (UserError, SandboxError) as exc:
        print(f"measure_table: error: {exc}", file=sys.stderr)
        return 2
    print(table(rows))
    print("\nBoth arms share round 0: resampling's tokens include it; its task seconds are its later rounds only.")
    print("\n" + solved_tasks(rows))
    model = rows[0]["results"].get("model") if rows else None
    print(f"\nmodel: {model}; measured by `python -m benchmarks.measure_table {' '.join(argv or sys.argv[1:])}` "
          f"in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
