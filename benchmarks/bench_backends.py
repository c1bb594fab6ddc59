"""Candidates per second for the same sampling work, in-process and through an OpenAI-compatible server, in one run.

    python benchmarks/bench_backends.py [--ns 1,4,8] [--max-new-tokens 64] [--quantizations bf16,nf4]
                                        [--continuous-batching] [--server URL --model NAME]

In-process: `HFProvider.sample(n=n)`, one batched generate. Server: `OpenAICompatProvider.sample(n=n)`; this
benchmark starts `transformers serve` on the embedded model (bf16, CPU) unless --server names one, and with
--continuous-batching also a second one that batches concurrent requests. `transformers serve` answers one choice
per request, so the backend sends n concurrent requests. Every candidate runs exactly --max-new-tokens tokens on
both sides (min_new_tokens in-process; on transformers serve its `generation_config` request field, as it honours
no `min_tokens`), so both do the same work; the table shows the generated tokens to prove it.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPT = [{"role": "user", "content": "Write a Python function is_palindrome(s) that ignores case and spaces."}]
TEMPERATURE, TOP_P = 0.8, 0.95


def _in_process(model, n: int, tokens: int, seed: int) -> tuple[float, int]:
    started = time.perf_counter()
    samples = model.sample(PROMPT, n=n, temperature=TEMPERATURE, top_p=TOP_P, max_new_tokens=tokens,
                           min_new_tokens=tokens, seed=seed)
    return time.perf_counter() - started, sum(s.completion_tokens for s in samples)


def _through_server(provider, n: int, tokens: int, seed: int) -> tuple[float, int]:
    started = time.perf_counter()
    samples = provider.sample(PROMPT, n=n, temperature=TEMPERATURE, top_p=TOP_P, max_new_tokens=tokens, seed=seed)
    return time.perf_counter() - started, sum(s.completion_tokens for s in samples)


def _fixed_length_body(tokens: int) -> dict:
    """transformers serve's own request field: a whole GenerationConfig, here one that cannot stop early."""
    return {"generation_config": json.dumps({"do_sample": True, "temperature": TEMPERATURE, "top_p": TOP_P,
                                             "max_new_tokens": tokens, "min_new_tokens": tokens})}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ns", default="1,4,8", help="candidates per prompt")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--quantizations", default="bf16,nf4", help="in-process arms")
    parser.add_argument("--continuous-batching", action="store_true",
                        help="also a transformers serve with --continuous-batching")
    parser.add_argument("--server", default=None, help="bench this server instead of starting transformers serve "
                        "(its answers may stop early: then compare tok/s)")
    parser.add_argument("--model", default=None, help="with --server: the served model name")
    parser.add_argument("--repeat", type=int, default=2, help="measurements per arm and n; the fastest is kept")
    args = parser.parse_args(argv)

    import torch
    import transformers

    from agent.model_store import ensure_default_model
    from agent.provider.hf import HFProvider
    from agent.provider.openai_compat import OpenAICompatProvider
    from benchmarks.model_server import ModelServer

    ns = [int(n) for n in args.ns.split(",")]
    tokens = args.max_new_tokens
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the servers started here
    # Every arm is loaded first, then measured in turn (n by n, repeat by repeat, best kept), so a busy moment of
    # the machine does not land on one arm only.
    runners: dict[str, object] = {}
    servers: list[ModelServer] = []
    try:
        for quantization in args.quantizations.split(","):
            model = HFProvider.from_pretrained(None, quantization=quantization, device="cpu")
            runners[f"in-process {quantization}"] = partial(_in_process, model)
        if args.server:
            provider = OpenAICompatProvider(args.server, model=args.model, max_concurrency=max(ns))
            runners[f"server {args.server}"] = partial(_through_server, provider)
        else:
            variants = [("server: transformers serve bf16", [])]
            if args.continuous_batching:
                variants.append(("server: transformers serve bf16, continuous batching", ["--continuous-batching"]))
            for arm, extra in variants:
                folder = Path(tempfile.mkdtemp(prefix="infinicode-bench-serve-"))
                server = ModelServer(ensure_default_model(), folder, extra_args=["--dtype", "bfloat16", *extra])
                servers.append(server.start())
                provider = OpenAICompatProvider(server.url, model=server.model, max_concurrency=max(ns),
                                                extra_body=_fixed_length_body(tokens))
                runners[arm] = partial(_through_server, provider)
        for run in runners.values():
            run(1, 4, seed=0)  # warm-up: first-call allocations and kernel selection
        results: dict[tuple[str, int], tuple[float, int]] = {}
        for repeat in range(args.repeat):
            for n in ns:
                for arm, run in runners.items():
                    seconds, produced = run(n, tokens, seed=1)
                    if (arm, n) not in results or seconds < results[(arm, n)][0]:
                        results[(arm, n)] = (seconds, produced)
                    print(f"  measured {arm} n={n} (repeat {repeat + 1}): {seconds:.1f} s", file=sys.stderr,
                          flush=True)
    finally:
        for server in servers:
            server.stop()
    arms = list(runners)

    print(f"model: embedded SmolLM2-135M-Instruct | device: cpu, {torch.get_num_threads()} threads | {tokens} new "
          f"tokens per candidate | torch {torch.__version__}, transformers {transformers.__version__}")
    print(f"candidates/s, best of {args.repeat} (generated tokens in parentheses: the same work in every arm)")
    print()
    print("| arm | " + " | ".join(f"n={n}" for n in ns) + " |")
    print("|---|" + "---:|" * len(ns))
    for arm in arms:
        cells = []
        for n in ns:
            if (arm, n) not in results:
                cells.append("-")
                continue
            seconds, produced = results[(arm, n)]
            cells.append(f"{n / seconds:.3f} ({produced})")
        print(f"| {arm} | " + " | ".join(cells) + " |")
    base = arms[0]
    for arm in arms[1:]:
        ratios = [f"n={n}: {results[(base, n)][0] / results[(arm, n)][0]:.2f}x" for n in ns
                  if (arm, n) in results and (base, n) in results]
        print(f"\n{arm} / {base}: " + ", ".join(ratios))


if __name__ == "__main__":
    main()
