"""`infinicode solve SPEC.toml`: run the generate-evaluate-refine loop on one spec file."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from infinicode.choices import Mode, Quantization
from infinicode.wiring import ModelOpt, ServerOpt


class _Progress:
    """One live status line on stderr: round, candidates run, best score so far."""

    def __init__(self, console, rounds: int):
        from rich.live import Live
        from rich.text import Text

        self.Text = Text
        self.rounds = rounds
        self.state = {"round": 0, "sampled": 0, "run": 0, "duplicates": 0, "tokens": 0, "best": "none yet"}
        self.live = Live(self.render(), console=console, refresh_per_second=4, transient=False)

    def render(self):
        s = self.state
        return self.Text.assemble(
            ("solve ", "bold"), f"round {s['round'] + 1}/{self.rounds} · ", f"sampled {s['sampled']} · ",
            f"run {s['run']} · ", f"duplicates {s['duplicates']} · ", f"tokens {s['tokens']} · ",
            ("best: ", "bold"), s["best"])

    def __call__(self, event: dict) -> None:
        kind = event["type"]
        if kind == "start":
            self.state["sampled"] = event["resumed"]
        elif kind == "round_start":
            self.state["round"] = event["round"]
        elif kind == "candidate":
            self.state["sampled"] += 1
            self.state["run"] = event["candidates_run"]
            self.state["duplicates"] += int(event["duplicate"])
            self.state["tokens"] = event["tokens"]
            self.state["best"] = event["best"] or "none yet"
        elif kind in ("sampled", "round_end", "done"):
            self.state["tokens"] = event.get("tokens", self.state["tokens"])
        self.live.update(self.render())


def register(app: typer.Typer) -> None:
    @app.command("solve")
    def solve(
        spec: Path = typer.Argument(..., help="Task spec (.toml); see examples/."),
        model: ModelOpt = None,
        server: ServerOpt = None,
        adapter: Path | None = typer.Option(None, "--adapter", help="LoRA adapter folder to load on the model."),
        samples: int | None = typer.Option(None, "--samples", min=1, help="Candidates per round "
                                              "(default: the spec's budget, else 8)."),
        rounds: int | None = typer.Option(None, "--rounds", min=1, help="Rounds (default: the spec's, else 3)."),
        out: Path | None = typer.Option(None, "--out", help="Run folder (default runs/<name>-<timestamp>); "
                                           "an existing one is resumed."),
        seed: int = typer.Option(0, "--seed", help="Sampling seed."),
        temperature: float = typer.Option(0.8, "--temperature", min=0.0, help="Sampling temperature."),
        top_k: int = typer.Option(2, "--top-k", min=1, help="Failing candidates refined per round."),
        max_new_tokens: int = typer.Option(384, "--max-new-tokens", min=1, help="Tokens per candidate."),
        quantization: Quantization = typer.Option(Quantization.nf4, "--quantization", help="Weights of an "
                                                  "in-process model."),
        mode: Mode = typer.Option(Mode.refine, "--mode", help="refine: later rounds learn from the failures; "
                                  "resample: they sample the task prompt again (no feedback)."),
    ) -> None:
        """Solve one task: sample, run in the sandbox, refine from failures. Exit 0 solved, 1 not, 2 bad input."""
        from rich.console import Console

        from agent.errors import UserError
        from sandbox.errors import SandboxError

        err = Console(stderr=True)
        try:
            code = _solve(spec, model, adapter, samples, rounds, out, seed, temperature, top_k, max_new_tokens,
                          quantization.value, mode.value, err, server)
        except (UserError, SandboxError) as exc:
            print(f"infinicode: error: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None
        raise typer.Exit(code)


def _solve(spec, model, adapter, samples, rounds, out, seed, temperature, top_k, max_new_tokens, quantization,
           mode, err, server=None) -> int:
    from agent.errors import UserError
    from agent.orchestrator import solve_task
    from agent.spec import load_spec

    # the cheap checks first: a bad spec or option fails before Docker or the model start
    task = load_spec(spec)
    if adapter is not None and not adapter.is_dir():
        raise UserError(f"--adapter {adapter}: no such folder; pass a LoRA adapter folder")
    out = out or Path("runs") / f"{task.name}-{time.strftime('%Y%m%d-%H%M%S')}"

    from infinicode.wiring import load_model, open_sandbox

    rounds_total = rounds or task.budget.rounds
    with open_sandbox() as sandbox:
        generator = load_model(model, server, str(adapter) if adapter else None, quantization, err)
        progress = _Progress(err, rounds_total)
        try:
            with progress.live:
                result = solve_task(task, generator, sandbox, out, samples=samples, rounds=rounds, top_k=top_k,
                                    mode=mode, temperature=temperature, seed=seed, on_event=progress,
                                    max_new_tokens=max_new_tokens)
        finally:
            if not err.is_terminal:
                err.line()  # Live leaves its last frame without a newline when not on a terminal
    from benchmarks.html_report import write_run_html

    write_run_html(result.out_dir)  # report.html: the candidate tree, to look at rather than read as JSON
    verdict = "[green]solved[/green]" if result.solved else "[red]not solved[/red]"
    err.print(f"{verdict} · {result.candidates_run} candidates run · {result.tokens} tokens · "
              f"{result.wall_s:.1f} s · stopped by {result.stop_reason} · run folder {result.out_dir}")
    if result.solution is not None:
        print(result.solution.rstrip())
    return 0 if result.solved else 1
