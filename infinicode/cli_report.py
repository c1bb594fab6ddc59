"""`infinicode report RUN_OR_BENCH_DIR`: (re)write report.html for a solve run folder or a bench output folder."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        folder: Path = typer.Argument(..., help="A solve run folder (run.json) or a bench output folder "
                                      "(results.json); older ones too."),
    ) -> None:
        """Write report.html: one self-contained page (no server, no network) with the candidate tree of a run,
        or a bench's numbers, plot and every task's tree."""
        from agent.errors import UserError
        from benchmarks.html_report import write_html

        try:
            path = write_html(folder)
        except UserError as exc:
            print(f"infinicode: error: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None
        print(path)
