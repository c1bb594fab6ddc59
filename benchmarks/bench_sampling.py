"""Batched sampling vs one generate call per candidate, on the embedded model (CPU or GPU), bf16 and NF4.

    python benchmarks/bench_sampling.py [--max-new-tokens 64] [--ns 1,4,16] [--quantizations bf16,nf4]

Every candidate is made to run exactly --max-new-tokens tokens (min_new_tokens), so both sides do the same work.
Batched: `HFProvider.sample(n=n)`, one generate call for all n. Baseline: `sample(n=1)` called once per candidate;
its rate does not depend on n, so it is measured on min(n, --baseline-calls) calls. Ratio = batched / baseline.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPT = [{"role": "user", "content": "Write a Python function is_palindrome(s) that ignores case and spaces."}]


def _run(model, n: int, tokens: int, seed: int) -> tuple[float, int]:
    started = time.perf_counter()
    samples = model.sample(PROMPT, n=n, temperature=0.8, top_p=0.95, max_new_tokens=tokens, min_new_tokens=tokens,
                           seed=seed)
    return time.perf_counter() - started, sum(s.completion_tokens for s in samples)


def load_model(provider_class, model: str | None, quantization: str, device: str | None):
    """`nf4@bf16` is NF4 computing in bf16 whatever the CPU (how it was before the compute dtype followed the
    CPU's native bf16 support); `nf4-packed` is NF4 unpacking its weights at every forward (how it was before
    sampling kept them unpacked, agent/provider/cpu_4bit.py). Both for comparison with `nf4`."""
    import agent.provider.hf as hf

    if quantization not in {"nf4@bf16", "nf4-packed"}:
        return provider_class.from_pretrained(model, quantization=quantization, device=device)
    chosen = hf.compute_dtype, hf.keep_unpacked_weights
    if quantization == "nf4@bf16":
        hf.compute_dtype = hf.half_dtype
    else:
        hf.keep_unpacked_weights = lambda model: 0
    try:
        return provider_class.from_pretrained(model, quantization="nf4", device=device)
    finally:
        hf.compute_dtype, hf.keep_unpacked_weights = chosen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="hub id, folder or .gguf (default: the embedded model)")
    parser.add_argument("--quantizations", default="bf16,nf4", help="comma-separated: nf4, bf16, fp32, "
                        "nf4@bf16 (NF4 computing in bf16 even where the CPU has no native bf16) and nf4-packed "
                        "(NF4 unpacking its weights at every forward)")
    parser.add_argument("--ns", default="1,4,16")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--baseline-calls", type=int, default=4)
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)

    import torch

    from agent.provider.hf import HFProvider

    ns = [int(n) for n in args.ns.split(",")]
    rows = []
    for quantization in args.quantizations.split(","):
        model = load_model(HFProvider, args.model, quantization, args.device)
        _run(model, 1, 4, seed=0)  # warm-up: first-call allocations and kernel selection
        for n in ns:
            batched_s, batched_tokens = _run(model, n, args.max_new_tokens, seed=1)
            calls = min(n, args.baseline_calls)
            baseline_s, baseline_tokens = 0.0, 0
            for call in range(calls):
                seconds, produced = _run(model, 1, args.max_new_tokens, seed=100 + call)
                baseline_s += seconds
                baseline_tokens += produced
            rows.append((quantization, n, batched_tokens / batched_s, n / batched_s, baseline_tokens / baseline_s,
                         calls / baseline_s, calls))
            print(f"  measured {quantization} n={n}", file=sys.stderr, flush=True)
        del model

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    where = torch.cuda.get_device_name() if device.startswith("cuda") else f"cpu, {torch.get_num_threads()} threads"
    print(f"model: {args.model or 'embedded SmolLM2-135M-Instruct'} | device: {where} | "
          f"{args.max_new_tokens} new tokens per candidate | torch {torch.__version__}")
    header = (f"{'quant':<8} {'n':>3} | {'batched tok/s':>13} {'cand/s':>7} | {'baseline tok/s':>14} {'cand/s':>7} "
              f"{'calls':>5} | {'ratio':>6}")
    print(header)
    print("-" * len(header))
    for quantization, n, tok_s, cand_s, base_tok_s, base_cand_s, calls in rows:
        print(f"{quantization:<8} {n:>3} | {tok_s:>13.1f} {cand_s:>7.3f} | {base_tok_s:>14.1f} {base_cand_s:>7.3f} "
              f"{calls:>5} | {tok_s / base_tok_s:>5.2f}x")


if __name__ == "__main__":
    main()
