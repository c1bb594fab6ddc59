"""One decoding step of a full batch at a long context: the KV cache grown in place against transformers' own.

    python benchmarks/bench_decode_step.py [--rows 16,64] [--context 300,900] [--steps 8] [--quantization nf4]

Each arm reads one prompt of --context tokens for all its rows (the prompt is read once and copied, which is
cheap), then times --steps decoding steps, with no row ending. "copying" is transformers' DynamicLayer, which
concatenates each step's keys and values onto a copy of the whole cache; "in place" is kv_cache.RoomyLayer, which
writes them into room kept after the cache. Both compute the same logits.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def step_seconds(model, rows: int, context: int, steps: int, in_place: bool) -> float:
    from agent.provider.hf_batch import Row

    model.grow_cache_in_place = in_place
    batch = model.running_batch(0.8, 0.95, [])
    prompt = [1000 + (i % 20000) for i in range(context)]
    batch.admit([Row(prompt, seed, steps + 1, min_new=steps + 1) for seed in range(rows)])  # no row ends
    batch.step()  # the first step after admitting copies the prompt's cache to every row: not timed
    started = time.perf_counter()
    for _ in range(steps - 1):
        batch.step()
    return (time.perf_counter() - started) / (steps - 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="16,64")
    parser.add_argument("--context", default="300,900")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--quantization", default="nf4")
    parser.add_argument("--model", default=None)
    args = parser.parse_args(argv)

    import torch

    from agent.provider.hf import HFProvider

    model = HFProvider.from_pretrained(args.model, quantization=args.quantization)
    device = model.device if model.device != "cpu" else f"cpu, {torch.get_num_threads()} threads"
    print(f"model: {model.name} {args.quantization} | device: {device} | {platform.node()} ({os.cpu_count()} cores)"
          f" | {args.steps} steps | torch {torch.__version__}")
    print(f"{'rows':>5} {'context':>8} | {'copying s/step':>14} {'in place s/step':>15} | {'speed-up':>8}")
    print("-" * 60)
    for rows in (int(r) for r in args.rows.split(",")):
        for context in (int(c) for c in args.context.split(",")):
            copying = step_seconds(model, rows, context, args.steps, in_place=False)
            in_place = step_seconds(model, rows, context, args.steps, in_place=True)
            print(f"{rows:>5} {context:>8} | {copying:>14.3f} {in_place:>15.3f} | {copying / in_place:>7.2f}x")


if __name__ == "__main__":
    main()
