"""`infinicode finetune` (LoRA on accepted solutions) and `infinicode improve` (the expert-iteration loop)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from agent.finetune import TrainSettings  # stdlib-only at import: cheap for every CLI call
from infinicode.choices import Quantization
from infinicode.wiring import ParallelOpt

TRAIN = TrainSettings()  # the training defaults live in one place; both verbs show them

# Options both verbs take, declared once.
ModelOpt = Annotated[str | None, typer.Option("--model", help="Base model: HF id, local folder or .gguf file "
                                                 "(default: the embedded SmolLM2-135M-Instruct).")]
QuantizationOpt = Annotated[Quantization, typer.Option("--quantization", help="Weights of the base: nf4 "
                                                        "trains QLoRA, bf16 and fp32 plain LoRA.")]
EpochsOpt = Annotated[int, typer.Option("--epochs", min=1, help="Passes over the training data.")]
LrOpt = Annotated[float, typer.Option("--lr", min=0.0, help="Peak learning rate (warmup, then cosine).")]
RankOpt = Annotated[int, typer.Option("--rank", min=1, help="LoRA rank (alpha = 2 x rank).")]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Examples per micro-batch.")]
GradAccumOpt = Annotated[int, typer.Option("--grad-accum", min=1, help="Micro-batches per optimizer step.")]
MaxStepsOpt = Annotated[int | None, typer.Option("--max-steps", min=1, help="Stop training after this many "
                                                    "optimizer steps.")]
ForceEvalOpt = Annotated[bool, typer.Option("--force-eval-tasks", help="Train on HumanEval / MBPP test tasks "
                                            "anyway (recorded in the metadata).")]


def register(app: typer.Typer) -> None:
    @app.command("finetune")
    def finetune(
        runs: list[Path] = typer.Argument(..., help="Run folders or benchmark output folders (searched for "
                                          "run.json files of solved tasks)."),
        out: Path = typer.Option(..., "--out", help="Adapter folder to write (peft format + metadata + loss.png)."),
        model: ModelOpt = None,
        quantization: QuantizationOpt = Quantization.nf4,
        epochs: EpochsOpt = TRAIN.epochs,
        lr: LrOpt = TRAIN.lr,
        rank: RankOpt = TRAIN.rank,
        batch_size: BatchSizeOpt = TRAIN.batch_size,
        grad_accum: GradAccumOpt = TRAIN.grad_accum,
        max_steps: MaxStepsOpt = None,
        max_length: int = typer.Option(TRAIN.max_length, "--max-length", min=32, help="Tokens per example (the "
                                       "prompt is cut from the left)."),
        target_modules: str = typer.Option(TRAIN.target_modules, "--target-modules", help="Comma-separated module "
                                           "names to adapt, or all-linear."),
        checkpoint_every: int = typer.Option(TRAIN.checkpoint_every, "--checkpoint-every", min=0, help="Optimizer "
                                             "steps between resumable checkpoints (0: none)."),
        seed: int = typer.Option(0, "--seed", help="Seed for LoRA init, data order and dropout."),
        all_passing: bool = typer.Option(False, "--all-passing", help="Also train on every other passing "
                                         "candidate of each solved run (trajectory.jsonl)."),
        force_eval_tasks: ForceEvalOpt = False,
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace a finished adapter in --out."),
    ) -> None:
        """Fine-tune a LoRA adapter (QLoRA on the 4-bit base) on the solutions the agent got accepted."""
        from agent.errors import UserError

        try:
            _finetune(runs, out, model, quantization.value, epochs, lr, rank, batch_size, grad_accum, max_steps,
                      max_length, target_modules, checkpoint_every, seed, all_passing, force_eval_tasks, overwrite)
        except UserError as exc:
            print(f"infinicode: error: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None

    @app.command("improve")
    def improve(
        train: str = typer.Option(..., "--train", help="Tasks to learn from: SUITE[:SPLIT] (e.g. mbpp:train, or "
                                  "mbpp:nontest for every split but test) or a folder of spec files."),
        eval_: str = typer.Option(..., "--eval", help="Held-out tasks to measure on: SUITE[:SPLIT] "
                                  "(e.g. mbpp:test)."),
        rounds: int = typer.Option(1, "--rounds", min=1, help="Solve -> fine-tune -> evaluate iterations."),
        samples: int = typer.Option(4, "--samples", min=1, help="Candidates per training task per solve round "
                                    "(and the n of pass@1 when evaluating, unless --eval-samples)."),
        eval_samples: int | None = typer.Option(None, "--eval-samples", min=1, help="Candidates per evaluation "
                                                "task: the n of pass@1 (default: --samples)."),
        solve_rounds: int = typer.Option(2, "--solve-rounds", min=1, help="Refinement rounds when solving "
                                         "training tasks."),
        limit_train: int | None = typer.Option(None, "--limit-train", min=1, help="First N training tasks."),
        limit_eval: int | None = typer.Option(None, "--limit-eval", min=1, help="First N evaluation tasks."),
        continue_adapter: bool = typer.Option(False, "--continue-adapter", help="Each round continues training "
                                              "the last adapter on the newest data (default: restart from the "
                                              "base on all data so far, ReST-EM style)."),
        out: Path | None = typer.Option(None, "--out", help="Output folder (default runs/improve-<time>); an "
                                           "existing one is resumed."),
        model: ModelOpt = None,
        quantization: QuantizationOpt = Quantization.nf4,
        server: list[str] | None = typer.Option(None, "--server", help="Sample through this OpenAI-compatible "
                                                   "API base URL (repeat for replicas; default $OPENAI_BASE_URL); "
                                                   "it must serve --model, and load each round's adapter at run "
                                                   "time (vLLM: --enable-lora, VLLM_ALLOW_RUNTIME_LORA_UPDATING)."),
        data: Path | None = typer.Option(None, "--data", help="Folder holding the suites' data files."),
        temperature: float = typer.Option(0.8, "--temperature", min=0.0, help="Sampling temperature."),
        max_new_tokens: int = typer.Option(384, "--max-new-tokens", min=1, help="Tokens per candidate."),
        seed: int = typer.Option(0, "--seed", help="Sampling and training seed."),
        epochs: EpochsOpt = TRAIN.epochs,
        lr: LrOpt = TRAIN.lr,
        rank: RankOpt = TRAIN.rank,
        batch_size: BatchSizeOpt = TRAIN.batch_size,
        grad_accum: GradAccumOpt = TRAIN.grad_accum,
        max_steps: MaxStepsOpt = None,
        force_eval_tasks: ForceEvalOpt = False,
        parallel: ParallelOpt = 16,
        repairs: bool = typer.Option(True, "--repairs/--no-repairs", help="Also train on the refinement rounds' "
                                     "(failing code + feedback -> fix) pairs, to learn the repair step."),
    ) -> None:
        """Expert iteration: solve training tasks, fine-tune on what passed, measure pass@1 on held-out tasks."""
        from agent.errors import UserError
        from sandbox.errors import SandboxError

        try:
            from agent.finetune import TrainSettings
            from infinicode.improve import ImproveSettings, run_improve

            settings = ImproveSettings(
                train=train, eval=eval_, rounds=rounds, samples=samples, eval_samples=eval_samples,
                solve_rounds=solve_rounds,
                limit_train=limit_train, limit_eval=limit_eval, continue_adapter=continue_adapter,
                model=model, quantization=quantization.value, server=server, data=str(data) if data else None,
                temperature=temperature, max_new_tokens=max_new_tokens, seed=seed,
                force_eval_tasks=force_eval_tasks, parallel=parallel, repairs=repairs,
                train_settings=TrainSettings(model=model, quantization=quantization.value, epochs=epochs, lr=lr,
                                             rank=rank, batch_size=batch_size, grad_accum=grad_accum,
                                             max_steps=max_steps, seed=seed))
            run_improve(settings, out)
        except (UserError, SandboxError) as exc:
            print(f"infinicode: error: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None


def _finetune(runs, out, model, quantization, epochs, lr, rank, batch_size, grad_accum, max_steps, max_length,
              target_modules, checkpoint_every, seed, all_passing, force_eval_tasks, overwrite) -> None:
    from rich.console import Console

    from agent.errors import UserError
    from agent.finetune import ADAPTER_METADATA, TrainSettings, train_adapter
    from agent.sft_data import build_dataset

    err = Console(stderr=True)
    if (out / ADAPTER_METADATA).exists() and not overwrite:
        raise UserError(f"{out} already holds a trained adapter; choose another --out or pass --overwrite")
    # the cheap checks first: no data or contaminated data fails before the model loads
    dataset = build_dataset(runs, force_eval_tasks=force_eval_tasks, all_passing=all_passing)
    err.print(f"[bold]infinicode finetune[/bold]: {dataset.summary()}")
    if dataset.eval_task_ids:
        err.print(f"[yellow]warning[/yellow]: training on {len(dataset.eval_task_ids)} evaluation-split task(s) "
                  f"(--force-eval-tasks): {', '.join(dataset.eval_task_ids)}; benchmark numbers on them are "
                  f"contaminated")
    settings = TrainSettings(model=model, quantization=quantization, epochs=epochs, lr=lr, rank=rank,
                             batch_size=batch_size, grad_accum=grad_accum, max_steps=max_steps,
                             max_length=max_length, target_modules=target_modules,
                             checkpoint_every=checkpoint_every, seed=seed)
    err.print(f"loading base model {model or '(embedded default)'} ({quantization}) ...")
    result = train_adapter(dataset, out, settings)
    meta = result.metadata
    resumed = f", resumed from step {result.resumed_from}" if result.resumed_from else ""
    err.print(f"[green]done[/green]: {result.steps} steps{resumed} · loss {result.losses[0]:.4f} -> "
              f"{result.losses[-1]:.4f} · {meta['optimizer']} on {meta['device']} · {result.wall_s:.1f} s")
    err.print(f"adapter: {out} (loss curve {out / 'loss.png'}); use it with `infinicode solve SPEC --adapter {out}` "
              f"or `infinicode bench ... --adapter {out}`")
