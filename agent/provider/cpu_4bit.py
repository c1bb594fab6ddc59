"""bitsandbytes 4-bit layers on a CPU: the dtype they compute in, the packing trap, and unpacked weights for sampling.

On a CPU, every forward of a `Linear4bit` unpacks its NF4 weight before the matmul: about 105 ms per decoding
step for the embedded 135M model on this project's 2-core machine, whatever the batch. When sampling (no
gradient), `keep_unpacked_weights` does that once per layer and keeps the result: the same numbers (the logits
are bit for bit those of the 4-bit kernel, `tests/test_model.py`), in less time, for the memory of an unpacked
copy. Training still goes through bitsandbytes, whose backward the LoRA layers need; the base weights never
change, so the copy stays right.
"""

from __future__ import annotations

import logging
import os

from agent.errors import UserError

# Unpacked copies are kept only while they fit in this share of the machine's memory.
UNPACKED_MEMORY_SHARE = 0.25


def import_bitsandbytes():
    """bitsandbytes, quietly: on CPUs with AVX512-BF16 it logs that an optional kernel package is missing."""

    class _DropOptionalKernelNotice(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "kernels-community" not in str(record.msg)

    logging.getLogger("bitsandbytes.backends.cpu.ops").addFilter(_DropOptionalKernelNotice())
    try:
        import bitsandbytes
    except ImportError:
        raise UserError("4-bit NF4 loading needs bitsandbytes: pip install bitsandbytes (>= 0.48 for CPU), "
                        "or pass --quantization bf16") from None
    return bitsandbytes


def half_dtype(device: str):
    """The 16-bit dtype for `--quantization bf16`: bf16, or fp16 on a GPU without bf16."""
    import torch

    if device.startswith("cuda") and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def compute_dtype(device: str):
    """The dtype 4-bit layers compute in. On a CPU without native bf16 (no AVX512-BF16 or AMX), bf16 matmuls are
    emulated: fp32 sampled 32 rows of NF4 2.2x faster there (benchmarks/bench_sampling.py, README)."""
    import torch

    if device == "cpu" and not cpu_has_bf16():
        return torch.float32
    return half_dtype(device)


def cpu_has_bf16() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def disable_cpu_weight_packing(model) -> int:
    """Stop bitsandbytes from repacking 4-bit weights for its CPU inference kernel.

    On CPUs with AVX512-BF16, the first no-grad eval forward of a Linear4bit repacks its weight in place into a
    format whose kernel has no backward: every later training step gives LoRA weights no gradient, silently.
    Sampling before fine-tuning is exactly this project's order, so packing stays off. Returns how many layers
    were changed.
    """
    bnb = import_bitsandbytes()
    count = 0
    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = False
            count += 1
    return count


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def keep_unpacked_weights(model, share: float = UNPACKED_MEMORY_SHARE) -> int:
    """Let the CPU 4-bit layers of `model` unpack their weight once, at their first no-grad forward, and reuse it.
    Only when all unpacked copies fit in `share` of the machine's memory. Returns how many layers will."""
    import torch

    bnb = import_bitsandbytes()
    layers = [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit) and m.weight.device.type == "cpu"]
    if not layers:
        return 0
    size = sum(m.in_features * m.out_features * torch.finfo(m.compute_dtype or torch.float32).bits // 8
               for m in layers)
    memory = _memory_bytes()
    if memory is None or size > share * memory:
        logging.getLogger(__name__).info("4-bit weights stay packed: unpacked they would take %.1f GiB", size / 2**30)
        return 0
    for layer in layers:
        layer.forward = _unpacked_forward(layer, layer.forward)
        layer.keeps_unpacked_weight = True  # for `model info`
    return len(layers)


def _unpacked_forward(layer, packed_forward):
    import torch
    import torch.nn.functional as F

    bnb = import_bitsandbytes()
    unpacked = None

    def forward(x):
        nonlocal unpacked
        if torch.is_grad_enabled():
            return packed_forward(x)  # training: bitsandbytes' own path, with its backward
        if unpacked is None:
            dtype = layer.compute_dtype or torch.float32
            unpacked = bnb.functional.dequantize_4bit(layer.weight.data, layer.weight.quant_state).to(dtype)
        bias = None if layer.bias is None else layer.bias.to(unpacked.dtype)
        return F.linear(x.to(unpacked.dtype), unpacked, bias).to(x.dtype)

    return forward
