"""Progress of long runs: plain lines in a log file (where rich draws nothing until the end), bars on a terminal."""

from __future__ import annotations

import io
import re

from rich.console import Console

from benchmarks.progress import TaskBars


def _log_console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=False, width=200), out


def test_a_log_gets_a_timestamped_line_when_a_bar_moves_and_when_it_completes():
    console, out = _log_console()
    with TaskBars(console, every_s=3600) as bars:
        bar = bars.add("evaluate", total=3)
        bars.update(bar, description="evaluate Mbpp/11 round 1")  # no move: no line
        bars.update(bar, advance=1, info="pass@1 0.250")
        bars.update(bar, advance=1, info="pass@1 0.125")  # within every_s of the last line: none
        bars.update(bar, advance=1, info="pass@1 0.083")  # complete: always a line
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert re.fullmatch(r"\d\d:\d\d:\d\d evaluate 1/3 pass@1 0\.250 \(\d+ s\)", lines[0])
    assert re.fullmatch(r"\d\d:\d\d:\d\d evaluate 3/3 pass@1 0\.083 \(\d+ s\)", lines[1])


def test_every_move_is_a_line_when_the_interval_is_zero_and_resumed_work_counts_as_done():
    console, out = _log_console()
    with TaskBars(console, every_s=0) as bars:
        bar = bars.add("refine", total=10, done=7)  # a resumed run: 7 tasks finished in an earlier session
        for _ in range(3):
            bars.update(bar, advance=1, info="solved 0/1 this run")
    assert [line.split(" ", 2)[2].split(" (")[0] for line in out.getvalue().splitlines()] == [
        "8/10 solved 0/1 this run", "9/10 solved 0/1 this run", "10/10 solved 0/1 this run"]


def test_a_terminal_draws_bars_not_lines():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with TaskBars(console, every_s=0) as bars:
        bar = bars.add("solve train", total=2)
        bars.update(bar, advance=2, info="solved 1/2")
    text = out.getvalue()
    assert "solve train" in text and "2/2" in text and "solved 1/2" in text
    assert not re.search(r"^\d\d:\d\d:\d\d solve train", text, re.M)
