"""GPU sampling speed on a realistic shape (Qwen2.5-Coder-1.5B's config, random weights), NF4 and bf16, against
the floor of reading every weight once per decode step at the measured memory bandwidth.

    python benchmarks/bench_sampling_gpu.py [--ns 1,4,16] [--new-tokens 128] [--prompt-tokens 256]

Speed does not need trained weights: the model is built from the config, saved once and loaded through
`agent.provider.hf.load_causal_lm` exactly as a user's checkpoint would be (bitsandbytes NF4 with double quant).
floor tok/s = n * bandwidth / bytes read per step; "% of floor" says how close decoding gets to it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Qwen/Qwen2.5-Coder-1.5B config.json (the fields that set the shape and the compute).
QWEN25_CODER_15B = {
    "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 1536, "intermediate_size": 8960,
    "num_hidden_layers": 28, "num_attention_heads": 12, "num_key_value_heads": 2, "vocab_size": 151936,
    "max_position_embeddings": 32768, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": True,
    "hidden_act": "silu", "bos_token_id": 151643, "eos_token_id": 151643,
}


def measure_bandwidth(gib: float = 2.0, repeats: int = 20) -> float:
    """Device memory bandwidth in bytes/s from large device-to-device copies (each byte read once, written once)."""
    import torch

    source = torch.empty(int(gib * 2**30), dtype=torch.uint8, device="cuda")
    target = torch.empty_like(source)
    for _ in range(3):
        target.copy_(source)
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        target.copy_(source)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    del source, target
    torch.cuda.empty_cache()
    return 2 * gib * 2**30 * repeats / seconds


def bytes_read_per_step(model) -> int:
    """Bytes of weights a decode step reads: every parameter (4-bit ones packed, plus their quantization
    statistics) except an untied input embedding, of which a step reads only the rows of its tokens."""
    total = 0
    seen = set()
    for module in model.modules():
        for param in module.parameters(recurse=False):
            if id(param) in seen:
                continue
            seen.add(id(param))
            total += param.numel() * param.element_size()
            state = getattr(param, "quant_state", None)
            if state is not None:
                for tensor in (state.absmax, getattr(getattr(state, "state2", None), "absmax", None)):
                    if tensor is not None:
                        total += tensor.numel() * tensor.element_size()
    embedding = model.get_input_embeddings().weight
    if embedding is not model.get_output_embeddings().weight:
        total -= embedding.numel() * embedding.element_size()
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ns", default="1,4,16")
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--prompt-tokens", type=int, default=256)
    parser.add_argument("--quantizations", default="nf4,bf16")
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print("bench_sampling_gpu: no CUDA GPU visible to PyTorch here; nothing measured (run it on a GPU machine)")
        return

    from transformers import AutoConfig, AutoModelForCausalLM

    from agent.provider.hf import load_causal_lm

    bandwidth = measure_bandwidth()
    ns = [int(n) for n in args.ns.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="qwen-shape-") as folder:
        config = AutoConfig.for_model(**QWEN25_CODER_15B)
        torch.manual_seed(0)
        with torch.device("cuda"):
            model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
        model.save_pretrained(folder)
        del model
        torch.cuda.empty_cache()
        for quantization in args.quantizations.split(","):
            model = load_causal_lm(folder, quantization=quantization, device="cuda")
            weights = bytes_read_per_step(model)
            generator = torch.Generator(device="cuda").manual_seed(0)
            prompt = torch.randint(0, config.vocab_size, (1, args.prompt_tokens), device="cuda", generator=generator)
            model.generate(prompt, max_new_tokens=8, do_sample=True, pad_token_id=0)  # warm-up
            for n in ns:
                torch.cuda.synchronize()
                started = time.perf_counter()
                model.generate(prompt, max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens,
                               do_sample=True, temperature=0.8, top_p=0.95, num_return_sequences=n, pad_token_id=0)
                torch.cuda.synchronize()
                seconds = time.perf_counter() - started
                tokens_per_s = n * args.new_tokens / seconds
                floor = n * bandwidth / weights
                rows.append((quantization, n, weights, tokens_per_s, floor))
                print(f"  measured {quantization} n={n}", file=sys.stderr, flush=True)
            del model
            torch.cuda.empty_cache()

    print(f"shape: Qwen2.5-Coder-1.5B (random weights) | {torch.cuda.get_device_name()} | measured bandwidth "
          f"{bandwidth / 1e9:.0f} GB/s | prompt {args.prompt_tokens} + {args.new_tokens} new tokens | "
          f"torch {torch.__version__}")
    header = f"{'quant':<6} {'n':>3} | {'weights MB':>10} | {'tok/s':>8} | {'floor tok/s':>11} | {'% of floor':>10}"
    print(header)
    print("-" * len(header))
    for quantization, n, weights, tokens_per_s, floor in rows:
        print(f"{quantization:<6} {n:>3} | {weights / 1e6:>10.0f} | {tokens_per_s:>8.1f} | {floor:>11.0f} | "
              f"{100 * tokens_per_s / floor:>9.1f}%")


if __name__ == "__main__":
    main()
