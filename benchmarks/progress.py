"""Progress of long runs (bench, improve): rich bars on a terminal, plain timestamped lines anywhere else.

A run left in the background (`nohup infinicode bench ... > run.log 2>&1 &`) writes to a file, where rich draws
nothing until the run ends, hours later. There each bar becomes a line when it moves, at most every `every_s`
seconds, and always when it completes:

    14:02:31 evaluate 120/257 pass@1 0.019 (6 min 2 s)
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class _Bar:
    label: str
    total: int
    done: int
    info: str
    started: float
    printed: float = float("-inf")


class TaskBars:
    """Bars of tasks done out of a total, with a short info text each (e.g. "solved 3/40")."""

    def __init__(self, console, every_s: float = 60.0):
        self.console, self.every_s = console, every_s
        self.progress = None
        if console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=console)
        self._bars: dict[int, _Bar] = {}

    def __enter__(self) -> TaskBars:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()

    def add(self, label: str, total: int, done: int = 0, info: str = "") -> int:
        if self.progress is not None:
            bar = self.progress.add_task(label, total=total, completed=done, info=info)
        else:
            bar = len(self._bars)
        self._bars[bar] = _Bar(label, total, done, info, time.monotonic())
        return bar

    def update(self, bar: int, advance: int = 0, info: str | None = None, description: str | None = None) -> None:
        """Move `bar` on by `advance` tasks; `description` replaces the label on a terminal only (it changes with
        every event; a log line keeps the bar's label)."""
        state = self._bars[bar]
        state.done += advance
        state.info = state.info if info is None else info
        if self.progress is not None:
            self.progress.update(bar, advance=advance, info=state.info,
                                 **({"description": description} if description else {}))
            return
        now = time.monotonic()
        if advance and (state.done >= state.total or now - state.printed >= self.every_s):
            state.printed = now
            self.console.print(f"{time.strftime('%H:%M:%S')} {state.label} {state.done}/{state.total} "
                               f"{state.info} ({_duration(now - state.started)})".replace("  ", " "),
                               highlight=False, soft_wrap=True)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s" if minutes else f"{secs} s"
