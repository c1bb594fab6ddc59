"""QLoRA training-step time and memory on a realistic model shape, against plain bf16 LoRA (GPU).

The weights are random (built from the architecture's config: no download), which does not change the cost of a
step. Each variant runs infinicode's own training pieces (agent.provider.hf.load_base, agent.finetune.wrap_lora,
make_optimizer, completion_loss_sum) on batches of random tokens with the first half of each row masked as the
prompt, and prints one table with ratios against the bf16 baseline:

    python benchmarks/bench_qlora_step.py                       # Qwen2.5-Coder-1.5B shape, batch 4 x 512 tokens
    python benchmarks/bench_qlora_step.py --shape smollm2-135m --batch-size 8 --seq-len 1024

Without CUDA it prints one line and exits 0 (`--device cpu --shape tiny` runs the same code on a toy shape, to
check the script itself; its times mean nothing).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Architecture shapes (from the models' published config.json files).
SHAPES = {
    "qwen2.5-coder-1.5b": dict(model_type="qwen2", vocab_size=151936, hidden_size=1536, intermediate_size=8960,
                               num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                               max_position_embeddings=32768, rope_theta=1000000.0, rms_norm_eps=1e-6,
                               tie_word_embeddings=True),
    "smollm2-135m": dict(model_type="llama", vocab_size=49152, hidden_size=576, intermediate_size=1536,
                         num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                         max_position_embeddings=8192, rope_theta=100000.0, rms_norm_eps=1e-5,
                         tie_word_embeddings=True),
    "tiny": dict(model_type="llama", vocab_size=512, hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024, rope_theta=10000.0,
                 rms_norm_eps=1e-5, tie_word_embeddings=False),
}

# (label, quantization for load_base, optimizer): the first row is the baseline of the ratios.
VARIANTS = [
    ("LoRA bf16 + AdamW (baseline)", "bf16", "adamw_torch"),
    ("QLoRA nf4 + AdamW", "nf4", "adamw_torch"),
    ("QLoRA nf4 + paged AdamW 8-bit", "nf4", "paged_adamw_8bit"),
]


def build_checkpoint(shape: str, folder: Path) -> None:
    """A randomly initialised model of the shape, saved in bf16 so load_base can quantize it like a real one."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    spec = dict(SHAPES[shape])
    config = AutoConfig.for_model(spec.pop("model_type"), **spec)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(folder)
    _minimal_tokenizer().save_pretrained(folder)  # load_base wants one; the batches are random ids anyway


def _minimal_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<eos>": 1, "<pad>": 2}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", eos_token="<eos>",
                                   pad_token="<pad>")


def run_variant(folder: Path, quantization: str, optimizer_name: str, device: str, args) -> dict:
    import torch

    from agent.finetune import TrainSettings, completion_loss_sum, wrap_lora
    from agent.provider.hf import load_base

    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    model, _ = load_base(str(folder), quantization=quantization, device=device)
    settings = TrainSettings(rank=args.rank, gradient_checkpointing=not args.no_gradient_checkpointing, seed=0)
    model, _ = wrap_lora(model, settings, device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer_name == "paged_adamw_8bit":
        if device != "cuda":
            return {"skipped": "paged optimizers need CUDA"}
        import bitsandbytes as bnb

        optimizer = bnb.optim.PagedAdamW8bit(params, lr=1e-4, weight_decay=0.0)
    else:
        optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)

    g = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    input_ids = torch.randint(0, vocab, (args.batch_size, args.seq_len), generator=g).to(device)
    labels = input_ids.clone()
    labels[:, : args.seq_len // 2] = -100  # the prompt half carries no loss, as in fine-tuning
    mask = torch.ones_like(input_ids)

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    times = []
    for i in range(args.warmup + args.steps):
        sync()
        t0 = time.perf_counter()
        for _ in range(args.grad_accum):
            loss_sum, n = completion_loss_sum(model, input_ids, labels, mask)
            (loss_sum / (n * args.grad_accum)).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync()
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
    trainable = sum(p.numel() for p in params)
    del model, optimizer, params
    if device == "cuda":
        torch.cuda.empty_cache()
    return {"step_s": statistics.median(times), "peak_gib": peak, "trainable": trainable}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="qwen2.5-coder-1.5b")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--grad-accum", type=int, default=1, help="micro-batches per timed optimizer step")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--steps", type=int, default=10, help="timed steps (median reported)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--no-gradient-checkpointing", action="store_true")
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    args = ap.parse_args(argv)

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench_qlora_step: skipped: no CUDA device here (this benchmark times QLoRA steps on a GPU)")
        return 0

    tokens = args.batch_size * args.seq_len * args.grad_accum
    where = torch.cuda.get_device_name(0) if args.device == "cuda" else "CPU"
    print(f"QLoRA step on a random {args.shape} ({where}); batch {args.batch_size} x {args.seq_len} tokens x "
          f"{args.grad_accum} accumulation, LoRA r={args.rank} all-linear, gradient checkpointing "
          f"{'off' if args.no_gradient_checkpointing else 'on'}; median of {args.steps} steps after {args.warmup}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-qlora-") as tmp:
        build_checkpoint(args.shape, Path(tmp))
        for label, quantization, optimizer_name in VARIANTS:
            rows.append((label, quantization, optimizer_name,
                         run_variant(Path(tmp), quantization, optimizer_name, args.device, args)))

    base = rows[0][3]
    print()
    print("| variant | weights | optimizer | step s | tokens/s | peak GiB | step time vs baseline "
          "| memory vs baseline |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for label, quantization, optimizer_name, r in rows:
        if "skipped" in r:
            print(f"| {label} | {quantization} | {optimizer_name} | skipped: {r['skipped']} | | | | |")
            continue
        on_gpu = args.device == "cuda"  # peak memory is measured by the CUDA allocator only
        peak = f"{r['peak_gib']:.2f}" if on_gpu else "-"
        peak_ratio = f"{r['peak_gib'] / base['peak_gib']:.2f}x" if on_gpu else "-"
        print(f"| {label} | {quantization} | {optimizer_name} | {r['step_s']:.3f} | {tokens / r['step_s']:.0f} | "
              f"{peak} | {r['step_s'] / base['step_s']:.2f}x | {peak_ratio} |")
    print(f"\ntrainable LoRA parameters: {rows[0][3]['trainable']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
