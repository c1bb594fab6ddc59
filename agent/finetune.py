"""Fine-tuning on accepted solutions: train a LoRA adapter on the 4-bit base (QLoRA) from an `SFTDataset`
(agent.sft_data) and write it with its metadata and loss curve; checkpoints let an interrupted run resume.
"""

from __future__ import annotations

import json
import math
import random
import re
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agent.errors import UserError
from agent.sft_data import IGNORE_INDEX, SFTDataset, tokenize_example

ADAPTER_METADATA = "infinicode_adapter.json"
TRAIN_DATA = "train_data.jsonl"
LOSS_PLOT = "loss.png"
CHECKPOINTS = "checkpoints"

# ---------------------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class TrainSettings:
    model: str | None = None  # base: HF id, local folder or .gguf; None = the embedded default
    quantization: str = "nf4"  # nf4 = QLoRA; bf16/fp32 train plain LoRA
    device: str | None = None  # None = cuda when available, else cpu
    epochs: int = 3
    lr: float = 2e-4
    rank: int = 16
    alpha: int | None = None  # None = 2 * rank
    dropout: float = 0.05
    target_modules: str = "all-linear"  # comma-separated module names, or all-linear
    batch_size: int = 4
    grad_accum: int = 4
    max_steps: int | None = None  # optimizer steps; None = epochs over the data
    max_length: int = 1024  # tokens per example (prompt is cut from the left)
    warmup_steps: int | None = None  # None = 5% of the steps (at least 1)
    checkpoint_every: int = 50  # optimizer steps between resumable checkpoints (0 = none)
    seed: int = 0
    gradient_checkpointing: bool | None = None  # None = on for CUDA (saves memory), off on CPU (saves time)
    init_adapter: str | None = None  # continue training this adapter instead of a fresh LoRA

    def resume_key(self) -> dict:
        """Settings that must match for a checkpoint to be resumed."""
        d = asdict(self)
        d.pop("checkpoint_every")
        return d


@dataclass
class TrainResult:
    adapter_dir: Path
    steps: int
    losses: list[float]  # mean completion-token loss per optimizer step
    wall_s: float
    resumed_from: int = 0  # step a checkpoint resumed from (0 = fresh)
    metadata: dict = field(default_factory=dict)
    model: object = field(default=None, repr=False)  # the trained peft model, still in memory


def disable_cpu_weight_repacking(model) -> int:
    """Make a 4-bit model trainable on CPU: bitsandbytes repacks Linear4bit weights for its AVX512-BF16 kernel on
    the first no-grad CPU forward (any generate), and repacked layers silently pass no gradient to LoRA.
    Turns the repacking off and unpacks layers already repacked; returns how many layers it unpacked."""
    try:
        import bitsandbytes as bnb
        from bitsandbytes.nn.modules import _convert_weight_packed_for_cpu_inverse as unpack
    except ImportError:  # another bitsandbytes: no CPU repacking to undo
        return 0
    unpacked = 0
    for module in model.modules():
        if not isinstance(module, bnb.nn.Linear4bit):
            continue
        module.support_avx512bf16_for_cpu = False
        state = getattr(module.weight, "quant_state", None)
        if state is not None and getattr(state, "packing_format_for_cpu", False):
            module.weight.data, module.weight.quant_state = unpack(module.weight.data, state)
            if getattr(module, "quant_state", None) is not None:
                module.quant_state = module.weight.quant_state
            unpacked += 1
    return unpacked


def _is_kbit(model) -> bool:
    return bool(getattr(model, "is_loaded_in_4bit", False) or getattr(model, "is_loaded_in_8bit", False))


def wrap_lora(model, settings: TrainSettings, device: str):
    """The base made ready for k-bit training and wrapped in a trainable LoRA (fresh, or settings.init_adapter).
    Returns (peft_model, gradient_checkpointing_on)."""
    from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training

    use_gc = settings.gradient_checkpointing if settings.gradient_checkpointing is not None \
        else device.startswith("cuda")
    with warnings.catch_warnings():  # peft calls transformers APIs that transformers 5 marks as deprecated
        warnings.simplefilter("ignore", FutureWarning)
        if _is_kbit(model):
            # Casts norms/embeddings to fp32 for stable training; makes inputs require grad (for checkpointing).
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=use_gc,
                                                    gradient_checkpointing_kwargs={"use_reentrant": False})
        elif use_gc:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.enable_input_require_grads()
        if settings.init_adapter:
            model = PeftModel.from_pretrained(model, settings.init_adapter, is_trainable=True)
        else:
            targets = settings.target_modules if settings.target_modules == "all-linear" \
                else [t.strip() for t in settings.target_modules.split(",") if t.strip()]
            lora = LoraConfig(r=settings.rank, lora_alpha=settings.alpha or 2 * settings.rank,
                              lora_dropout=settings.dropout, target_modules=targets, task_type="CAUSAL_LM")
            model = get_peft_model(model, lora)
    model.config.use_cache = False
    return model, use_gc


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def make_optimizer(params, lr: float, device: str):
    """Paged 8-bit AdamW on CUDA (QLoRA's choice: small state, pages out under memory pressure); torch AdamW on
    CPU, where bitsandbytes' paged optimizers do not run."""
    import torch

    if device.startswith("cuda"):
        import bitsandbytes as bnb

        return bnb.optim.PagedAdamW8bit(params, lr=lr, weight_decay=0.0), "paged_adamw_8bit"
    return torch.optim.AdamW(params, lr=lr, weight_decay=0.0), "adamw_torch"


def make_scheduler(optimizer, warmup: int, total: int):
    """transformers' linear warmup (the first step already at 1/warmup of the peak), then cosine decay to 10% of
    the peak at the last step."""
    from transformers import get_scheduler

    return get_scheduler("cosine_warmup_with_min_lr", optimizer, num_warmup_steps=warmup, num_training_steps=total,
                         scheduler_specific_kwargs={"min_lr_rate": 0.1})


def _batches(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    order = list(range(n))
    random.Random(seed * 1000003 + epoch).shuffle(order)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def collate(items: list[tuple[list[int], list[int]]], pad_id: int, device):
    import torch

    width = max(len(ids) for ids, _ in items)
    input_ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for i, (ids, lab) in enumerate(items):  # right padding: positions stay those of generation
        input_ids[i, :len(ids)] = torch.tensor(ids)
        labels[i, :len(lab)] = torch.tensor(lab)
        mask[i, :len(ids)] = 1
    return input_ids.to(device), labels.to(device), mask.to(device)


def completion_loss_sum(model, input_ids, labels, mask):
    """Sum of the next-token cross entropy over completion tokens, and how many there were."""
    import torch.nn.functional as F

    logits = model(input_ids=input_ids, attention_mask=mask).logits[:, :-1, :].float()
    target = labels[:, 1:]
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1),
                           ignore_index=IGNORE_INDEX, reduction="sum")
    return loss, int((target != IGNORE_INDEX).sum())


def _checkpoints(out_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first (a `.tmp` one was cut off mid-write)."""
    found = [p for p in (out_dir / CHECKPOINTS).glob("step-*") if re.fullmatch(r"step-\d+", p.name)]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def _latest_checkpoint(out_dir: Path) -> Path | None:
    ckpts = _checkpoints(out_dir)
    return ckpts[-1] if ckpts else None


def train_adapter(dataset: SFTDataset, out_dir: str | Path, settings: TrainSettings, *,
                  base: tuple | None = None, on_step: Callable[[int, int, float, float], None] | None = None,
                  show_progress: bool = True, resume: bool = True) -> TrainResult:
    """Train a LoRA adapter on the examples and write it to out_dir (peft format + metadata + loss.png).

    base: an already loaded (hf_model, tokenizer) to train on (e.g. one used for generation before); by default
    the base is loaded with agent.provider.hf.load_base. on_step(step, total, loss, lr) is called after each optimizer
    step. A checkpoint in out_dir/checkpoints from the same data and settings is resumed when `resume` is on.
    """
    import torch

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    _seed_everything(settings.seed)

    if base is None:
        from agent.provider.hf import load_base

        model, tokenizer = load_base(settings.model, quantization=settings.quantization, device=settings.device)
    else:
        model, tokenizer = base
    disable_cpu_weight_repacking(model)  # also undoes the repacking of a base that has generated already
    device = str(next(model.parameters()).device)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token

    context = getattr(model.config, "max_position_embeddings", None)
    max_length = min(settings.max_length, context) if isinstance(context, int) and context > 0 \
        else settings.max_length
    encoded = [tokenize_example(tokenizer, e, max_length) for e in dataset.examples]
    too_long = sum(x is None for x in encoded)
    encoded = [x for x in encoded if x is not None]
    if not encoded:
        raise UserError(f"every answer is longer than {max_length} tokens (--max-length, or the model's context); "
                        f"raise --max-length if the model reads more")

    model, use_gc = wrap_lora(model, settings, device)
    trainable = [p for p in model.parameters() if p.requires_grad]

    per_step = settings.batch_size * settings.grad_accum
    steps_per_epoch = math.ceil(len(encoded) / per_step)
    total_steps = steps_per_epoch * settings.epochs
    if settings.max_steps:
        total_steps = min(total_steps, settings.max_steps)
    total_steps = max(1, total_steps)
    warmup = settings.warmup_steps if settings.warmup_steps is not None else max(1, round(0.05 * total_steps))
    optimizer, optimizer_name = make_optimizer(trainable, settings.lr, device)
    scheduler = make_scheduler(optimizer, warmup, total_steps)

    dataset_sha = dataset.sha256
    losses: list[float] = []
    lrs: list[float] = []
    step = 0
    ckpt = _latest_checkpoint(out_dir) if resume else None
    if ckpt is not None:
        from peft.utils import set_peft_model_state_dict
        from safetensors.torch import load_file

        state = torch.load(ckpt / "trainer_state.pt", map_location="cpu", weights_only=False)
        if state["dataset_sha256"] != dataset_sha or state["settings"] != settings.resume_key():
            raise UserError(f"{out_dir} holds a checkpoint of a different run (other data or settings); "
                            f"choose another --out or delete {out_dir / CHECKPOINTS}")
        set_peft_model_state_dict(model, load_file(str(ckpt / "adapter_model.safetensors")))
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        step, losses, lrs = state["step"], state["losses"], state["lrs"]
    resumed_from = step

    def micro_batches(step: int) -> list[list[int]]:
        # A pure function of (seed, step), so a resumed run sees the same data order.
        epoch, k = divmod(step, steps_per_epoch)
        batches = _batches(len(encoded), settings.batch_size, settings.seed, epoch)
        return batches[k * settings.grad_accum:(k + 1) * settings.grad_accum]

    progress = _progress(show_progress)
    model.train()
    with progress:
        bar = progress.add_task("training", total=total_steps, completed=step, loss=float("nan"))
        while step < total_steps:
            group = micro_batches(step)
            n_tokens = sum(sum(t != IGNORE_INDEX for t in encoded[i][1][1:]) for mb in group for i in mb)
            step_loss = 0.0
            for mb in group:
                input_ids, labels, mask = collate([encoded[i] for i in mb], tokenizer.pad_token_id, device)
                loss_sum, _ = completion_loss_sum(model, input_ids, labels, mask)
                (loss_sum / max(1, n_tokens)).backward()  # token-weighted mean over the whole accumulated step
                step_loss += loss_sum.item()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            lr = scheduler.get_last_lr()[0]
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            losses.append(step_loss / max(1, n_tokens))
            lrs.append(lr)
            progress.update(bar, advance=1, loss=losses[-1])
            if settings.checkpoint_every and step % settings.checkpoint_every == 0 and step < total_steps:
                _save_checkpoint(out_dir, model, optimizer, scheduler, step, losses, lrs, dataset_sha, settings)
            if on_step:
                on_step(step, total_steps, losses[-1], lr)

    model.save_pretrained(str(out_dir))
    dataset.write_jsonl(out_dir / TRAIN_DATA)
    wall_s = time.time() - started
    meta = _metadata(model, tokenizer, dataset, settings, optimizer_name, device, losses, lrs, wall_s,
                     too_long, len(encoded), resumed_from, use_gc)
    (out_dir / ADAPTER_METADATA).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    plot_loss(losses, out_dir / LOSS_PLOT, title=f"LoRA r={settings.rank} on {Path(str(meta['base_model_path'])).name}")
    shutil.rmtree(out_dir / CHECKPOINTS, ignore_errors=True)  # only needed to resume an interrupted run
    return TrainResult(out_dir, step, losses, wall_s, resumed_from, meta, model)


def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("loss {task.fields[loss]:.4f}"), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), disable=not enabled)


def _save_checkpoint(out_dir: Path, model, optimizer, scheduler, step: int, losses: list[float], lrs: list[float],
                     dataset_sha: str, settings: TrainSettings) -> None:
    import torch

    ckpt = out_dir / CHECKPOINTS / f"step-{step:06d}"
    tmp = ckpt.with_name(ckpt.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    torch.save({"step": step, "losses": losses, "lrs": lrs, "dataset_sha256": dataset_sha,
                "settings": settings.resume_key(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state()}, tmp / "trainer_state.pt")
    tmp.rename(ckpt)  # a checkpoint exists only once complete
    for old in _checkpoints(out_dir)[:-2]:
        shutil.rmtree(old, ignore_errors=True)


def _metadata(model, tokenizer, dataset: SFTDataset, settings: TrainSettings, optimizer_name: str, device: str,
              losses: list[float], lrs: list[float], wall_s: float, too_long: int, n_trained: int,
              resumed_from: int, gradient_checkpointing: bool) -> dict:
    import peft
    import torch
    import transformers

    base_path = model.peft_config[model.active_adapter].base_model_name_or_path
    return {
        "format": 1,
        "base_model": settings.model or "default",
        "base_model_path": base_path,
        "quantization": settings.quantization,
        "device": device,
        "optimizer": optimizer_name,
        "gradient_checkpointing": gradient_checkpointing,
        "settings": asdict(settings),
        "dataset": {
            "sha256": dataset.sha256,
            "examples": len(dataset.examples),
            "examples_trained": n_trained,
            "examples_too_long": too_long,
            "task_ids": dataset.task_ids,
            "eval_task_ids_forced": dataset.eval_task_ids,
            "run_files": dataset.run_files,
            "unsolved_runs": dataset.unsolved,
            "duplicates_dropped": dataset.duplicates,
            "sources": dataset.sources,
        },
        "steps": len(losses),
        "resumed_from_step": resumed_from,
        "loss_per_step": [{"step": i + 1, "loss": round(loss, 6), "lr": lr}
                          for i, (loss, lr) in enumerate(zip(losses, lrs, strict=True))],
        "wall_s": round(wall_s, 2),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
    }


def plot_loss(losses: list[float], path: Path, title: str = "training loss") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.plot(range(1, len(losses) + 1), losses, marker="o" if len(losses) < 40 else None, markersize=3)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("completion-token loss")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def read_adapter_metadata(adapter_dir: str | Path) -> dict | None:
    p = Path(adapter_dir) / ADAPTER_METADATA
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None
