"""Candidates per minute of `bench`: one task at a time (the loop before batching) against tasks batched, in one run.

    python benchmarks/bench_throughput.py [--suite mbpp] [--limit 40] [--samples 4] [--max-new-tokens 256]
                                          [--temperature 0.8] [--quantization nf4] [--parallel 16] [--rounds 1]
                                          [--arms today,sequential,batched] [--out runs/bench-throughput] [--keep]

Arms, on the same model and sandbox, one after the other, each in its own folder under --out, started afresh
(with --keep, an arm that finished there with the same settings is read instead of run again):
- today: one task at a time as before this work: its n candidates each reading the prompt on their own, run to
  their end token or the cap, the 4-bit weights unpacked at every step (`nf4-packed` in bench_sampling.py);
- sequential: the same, with each prompt read once for its n rows and the 4-bit weights unpacked once
  (`--parallel 1 --no-stop-at-answer`): what batching across tasks adds is batched / sequential;
- batched: --parallel tasks in flight, their prompts sampled in one batch that reads each prompt once, each
  candidate ending where its answer is complete and leaving the batch then, a task's next call joining the
  running batch (continuous batching), and a prefix that prompts share read once (the default of `bench`);
- batched-before: batched as before continuous batching: a call joins only an empty batch, so each batch runs
  until its last row ends while the tasks done with it wait; a task's refinement prompts are sampled one
  parent at a time, prompts that start alike are read whole, and the KV cache is copied at every step;
- batched-copycache: batched, but with transformers' KV cache, which copies itself at every decoding step;
- batched-noprefix: batched, but prompts that start alike (a task's refinement prompts) are read whole;
- batched-nostop: batched without the early stop, to tell the changes apart;
- batched-8: batched with 8 tasks in flight, to show what more rows per batch bring.
In every arm a candidate that has ended leaves its batch (agent/provider/hf_batch.py), so a task's n rows in the
one-task-at-a-time arms stop costing compute at their end tokens too. The compute dtype is the same in every arm.
Each arm runs --rounds rounds (default 1; more rounds add refinement prompts, longer than round 0's). The table
gives wall time, candidates per minute, generated tokens per candidate, pass@1 of round 0 (over its n candidates
per task), the share of tasks solved after the last round, and the paired 95% bootstrap interval over tasks of
each arm's pass@1 minus the first arm's (pass@1 at T > 0 is noisy: an interval that holds 0 means no measurable
difference).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# What each arm changes from the default (`infinicode bench` as it is): tasks in flight (None: --parallel),
# stop at the answer, read each distinct prompt once for its rows, keep the 4-bit weights unpacked, let calls
# join a running batch, read a prefix that prompts share once, hand the model a round's prompts at once, grow
# the KV cache in place.
DEFAULT = {"parallel": None, "stop": True, "share": True, "unpacked": True, "continuous": True, "prefix": True,
           "round_at_once": True, "in_place": True}
ARMS = {"today": dict(DEFAULT, parallel=1, stop=False, share=False, unpacked=False, prefix=False,
                      round_at_once=False, in_place=False),
        "sequential": dict(DEFAULT, parallel=1, stop=False),
        "batched": DEFAULT,
        "batched-before": dict(DEFAULT, continuous=False, prefix=False, round_at_once=False, in_place=False),
        "batched-copycache": dict(DEFAULT, in_place=False),
        "batched-noprefix": dict(DEFAULT, prefix=False),
        "batched-nostop": dict(DEFAULT, stop=False),
        "batched-8": dict(DEFAULT, parallel=8)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="mbpp")
    parser.add_argument("--data", default=None)
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--quantization", default="nf4", choices=["nf4", "bf16", "fp32"])
    parser.add_argument("--model", default=None)
    parser.add_argument("--parallel", type=int, default=16, help="tasks in flight in the batched arms")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the loop (refinement after round 0)")
    parser.add_argument("--arms", default="today,sequential,batched")
    parser.add_argument("--out", default="runs/bench-throughput")
    parser.add_argument("--keep", action="store_true",
                        help="read an arm that finished in --out with the same settings instead of running it again")
    args = parser.parse_args(argv)
    arms = [arm.strip() for arm in args.arms.split(",") if arm.strip()]
    unknown = [arm for arm in arms if arm not in ARMS]
    if unknown:
        parser.error(f"unknown arm(s) {unknown}; choose from {', '.join(ARMS)}")

    from rich.console import Console

    from agent.provider.hf import HFProvider
    from benchmarks.bench_sampling import load_model
    from benchmarks.run_bench import BenchConfig
    from sandbox import Sandbox

    console = Console(stderr=True)
    models = {}
    rows = []
    with Sandbox() as sandbox:
        for arm in arms:
            arm_settings = ARMS[arm]
            parallel, stop, unpacked = arm_settings["parallel"], arm_settings["stop"], arm_settings["unpacked"]
            if unpacked not in models:
                packed = not unpacked and args.quantization == "nf4"
                models[unpacked] = load_model(HFProvider, args.model, "nf4-packed" if packed else args.quantization,
                                              None)
            model = models[unpacked]
            model.share_prefill, model.share_prefix = arm_settings["share"], arm_settings["prefix"]
            model.grow_cache_in_place = arm_settings["in_place"]
            out = Path(args.out) / arm
            config = BenchConfig(suite=args.suite, data=args.data, samples=args.samples, rounds=args.rounds,
                                 limit=args.limit,
                                 model=args.model, quantization=args.quantization, temperature=args.temperature,
                                 max_new_tokens=args.max_new_tokens, out=str(out), parallel=parallel or args.parallel,
                                 stop_at_answer=stop)
            results = finished_arm(out, config) if args.keep else None
            if results is not None:
                console.print(f"{arm}: read from {out} (--keep)")
            else:
                shutil.rmtree(out, ignore_errors=True)
                results = run_arm(model, config, arm_settings, args.samples, sandbox, console)
            per_task = {r["task_id"]: r["c"] / r["n"] for r in results["per_task"] if r["n"]}
            rows.append({"arm": arm, "parallel": config.parallel, "stop": stop, "wall_s": results["bench_wall_s"],
                         "solved": sum(r["solved"] for r in results["per_task"]) / len(results["per_task"]),
                         "candidates": sum(r["candidates_run"] for r in results["per_task"]),
                         "tokens": sum(r["tokens"] for r in results["per_task"]), "pass1": per_task})
    print_table(rows, model, args)


def finished_arm(out: Path, config) -> dict | None:
    """The results of an arm run before in `out` with the same settings, all its tasks in one run, or None."""
    from benchmarks.run_bench import BENCH_JSON, RESUME_KEYS

    try:
        results = json.loads((out / "results.json").read_text(encoding="utf-8"))
        settings = json.loads((out / BENCH_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    same = all(settings.get(key) == getattr(config, key) for key in RESUME_KEYS)
    whole = results.get("tasks") == results.get("tasks_run_now") == config.limit and "bench_wall_s" in results
    return results if same and whole else None


def run_arm(model, config, arm_settings: dict, samples: int, sandbox, console) -> dict:
    from agent.provider.batching import BatchingProvider
    from benchmarks.run_bench import run_bench

    generator = model
    if config.parallel > 1:
        generator = BatchingProvider(model, max_rows=config.parallel * samples, continuous=arm_settings["continuous"])
    generator.batches_prompts = arm_settings["round_at_once"]
    return run_bench(config, generator=generator, sandbox=sandbox, console=console)


def print_table(rows: list[dict], model, args) -> None:
    import torch

    from benchmarks.passk import paired_bootstrap

    device = model.device if model.device != "cpu" else f"cpu, {torch.get_num_threads()} threads"
    print(f"model: {model.name} {args.quantization} | device: {device} | {platform.node()} ({os.cpu_count()} cores)"
          f" | {args.suite} {args.limit} tasks x {args.samples} samples x {args.rounds} round(s), {args.max_new_tokens}"
          f" new tokens,"
          f" T={args.temperature} | torch {torch.__version__}")
    print(f"{'arm':<15} {'tasks':>5} {'stop':>5} | {'wall s':>7} {'cand':>5} {'cand/min':>8} {'ratio':>6} "
          f"{'vs seq':>6} | {'tok/cand':>8} | {'solved':>6} | {'pass@1':>6}  {'diff vs first arm (95% CI)':<28}")
    print("-" * 124)
    first = rows[0]
    sequential = next((row for row in rows if row["arm"] == "sequential"), None)

    def rate_of(row):
        return 60 * row["candidates"] / row["wall_s"]

    for row in rows:
        rate = rate_of(row)
        ratio = rate / rate_of(first)
        vs_seq = f"{rate / rate_of(sequential):>5.2f}x" if sequential else f"{'-':>6}"
        pass1 = sum(row["pass1"].values()) / len(row["pass1"])
        diff = ""
        if row is not first:
            ids = sorted(first["pass1"])
            mean, low, high = paired_bootstrap([row["pass1"][i] for i in ids], [first["pass1"][i] for i in ids])
            diff = f"{100 * mean:+.1f} pts [{100 * low:+.1f}, {100 * high:+.1f}]"
        print(f"{row['arm']:<15} {row['parallel']:>5} {'yes' if row['stop'] else 'no':>5} | {row['wall_s']:>7.1f} "
              f"{row['candidates']:>5} {rate:>8.2f} {ratio:>5.2f}x {vs_seq} | "
              f"{row['tokens'] / max(1, row['candidates']):>8.1f} | {100 * row['solved']:>5.1f}% | "
              f"{100 * pass1:>5.1f}%  {diff}")


if __name__ == "__main__":
    main()
