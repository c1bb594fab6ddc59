"""The run folder of one solve: its records, the one reader and the one writer.

    trajectory.jsonl   one CandidateRecord per line, appended and flushed as each candidate is decided
    run.json           the RunRecord: settings and outcome, replaced whole (atomically) after every round
    solution.py        the best candidate's code, report.md a summary for people (both written when done)

`agent.orchestrator` writes it; a resumed solve, `benchmarks.run_bench` and `agent.sft_data` read it, all
through `RunFolder`. Sandbox results and scores are `RunResult` and `Score` objects in memory; they become
dicts only in the files.

A torn last line: a process killed while appending to trajectory.jsonl leaves at most its last line cut short,
without the newline every record ends with. Readers ignore that line, and the writer cuts it off before it
appends, so a torn record is never followed by a good one. Any other line that is not a record is an error.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import UserError
from agent.scoring import Score
from sandbox.results import RunResult

TRAJECTORY = "trajectory.jsonl"
RUN_JSON = "run.json"
SOLUTION = "solution.py"
REPORT = "report.md"


@dataclass
class CandidateRecord:
    """One sampled candidate; `result` and `score` are None until the sandbox answers (never, for duplicates and
    cancelled ones)."""

    round: int
    index: int
    code: str
    parent: list[int] | None = None  # [round, index] of the candidate whose failure the prompt refined
    seed: int = 0
    messages: list[dict] = field(default_factory=list)
    text: str = ""  # what the model wrote; `code` is what extraction got out of it
    prompt_tokens: int = 0
    completion_tokens: int = 0
    duplicate_of: list[int] | None = None  # [round, index] of the candidate with the same normalized code
    cancelled: bool = False  # a solution was found before the sandbox judged it
    result: RunResult | None = None
    score: Score | None = None
    feedback: dict | None = None  # how the refinement prompt was fitted (kept / dropped evidence)

    @property
    def id(self) -> tuple[int, int]:
        return self.round, self.index

    @property
    def ran(self) -> bool:
        return self.result is not None

    def to_dict(self) -> dict:
        d = {name: getattr(self, name) for name in self.__dataclass_fields__}
        d["result"] = self.result.to_dict() if self.result is not None else None
        d["score"] = self.score.to_dict() if self.score is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> CandidateRecord:
        fields = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        if fields.get("result") is not None:
            fields["result"] = RunResult.from_dict(fields["result"])
        if fields.get("score") is not None:
            fields["score"] = Score.from_dict(fields["score"])
        return cls(**fields)


@dataclass
class RoundSummary:
    round: int
    sampled: int
    run: int
    duplicates: int
    passed: int
    best_score: float  # the best share of tests passed in this round
    best_so_far: float  # ... in this round or any before it
    solved: bool


@dataclass
class BestCandidate:
    round: int
    index: int
    score: Score


@dataclass
class RunRecord:
    """run.json: what was asked (settings) and what came of it."""

    task_id: str
    task_name: str = ""
    status: str = "running"  # running | done
    solved: bool = False
    solution: str | None = None  # the best candidate's code
    best: BestCandidate | None = None
    stop_reason: str = ""  # solved | rounds | tokens | time
    round0_messages: list[dict] = field(default_factory=list)
    round0_prompt: str = ""  # the round-0 messages as the model saw them (fine-tuning trains on it)
    model: str | None = None
    adapter: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # a resumed run must have the same
    tokens: int = 0  # generated tokens over all sessions
    prompt_tokens: int = 0
    wall_s: float = 0.0
    candidates_sampled: int = 0
    candidates_run: int = 0
    rounds: list[RoundSummary] = field(default_factory=list)
    round0_from: str | None = None  # the run whose round-0 candidates this one took instead of sampling

    @property
    def done(self) -> bool:
        return self.status == "done"

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.best is not None:
            d["best"]["score"] = self.best.score.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> RunRecord:
        fields = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        if fields.get("best") is not None:
            best = fields["best"]
            fields["best"] = BestCandidate(best["round"], best["index"], Score.from_dict(best["score"]))
        fields["rounds"] = [RoundSummary(**r) for r in fields.get("rounds", [])]
        return cls(**fields)


class TrajectoryWriter:
    """Appends records to trajectory.jsonl, each flushed as it is written, so a kill loses at most the one
    being written (the torn last line, cut off by the next writer)."""

    def __init__(self, path: Path):
        _cut_torn_line(path)
        self.file = open(path, "a", encoding="utf-8")

    def write(self, record: CandidateRecord) -> None:
        self.file.write(json.dumps(record.to_dict(), default=str) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> TrajectoryWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RunFolder:
    """One run folder: `read_*` for what an earlier (or the current) session wrote, `write_*` to write it."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def trajectory_path(self) -> Path:
        return self.path / TRAJECTORY

    @property
    def run_path(self) -> Path:
        return self.path / RUN_JSON

    def read_run(self) -> RunRecord | None:
        """run.json, or None when there is none yet."""
        if not self.run_path.is_file():
            return None
        try:
            return RunRecord.from_dict(json.loads(self.run_path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(f"{self.run_path} is not a run record ({exc}); delete {self.path} to run that task "
                            f"again") from None

    def finished_run(self) -> RunRecord | None:
        """run.json of a run that ended (solved or out of budget), else None."""
        run = self.read_run()
        return run if run is not None and run.done else None

    def read_trajectory(self) -> list[CandidateRecord]:
        """Every candidate recorded so far, in file order (see the module doc for the torn last line)."""
        if not self.trajectory_path.is_file():
            return []
        lines = self.trajectory_path.read_bytes().split(b"\n")[:-1]  # the part after the last newline is torn
        records = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                records.append(CandidateRecord.from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:
                raise UserError(f"{self.trajectory_path}:{number} is not a candidate record ({exc}); delete "
                                f"{self.path} to run that task again") from None
        return records

    def round0_for(self, settings: dict) -> list[CandidateRecord]:
        """The judged round-0 candidates of the finished run here, when its settings are `settings` but the mode
        (resampling takes refinement's round 0); none otherwise."""
        run = self.finished_run()
        if run is None or {k: v for k, v in run.settings.items() if k != "mode"} != \
                {k: v for k, v in settings.items() if k != "mode"}:
            return []
        return [c for c in self.read_trajectory() if c.round == 0]

    def trajectory_writer(self) -> TrajectoryWriter:
        self.path.mkdir(parents=True, exist_ok=True)
        return TrajectoryWriter(self.trajectory_path)

    def write_run(self, record: RunRecord) -> None:
        """Replace run.json whole: a reader sees the old record or the new one, never part of one."""
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.run_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, self.run_path)

    def write_solution(self, code: str) -> None:
        (self.path / SOLUTION).write_text(code.rstrip() + "\n", encoding="utf-8")

    def write_report(self, text: str) -> None:
        (self.path / REPORT).write_text(text, encoding="utf-8")


def _cut_torn_line(path: Path) -> None:
    if not path.is_file():
        return
    raw = path.read_bytes()
    good_end = raw.rfind(b"\n") + 1
    if good_end < len(raw):
        with open(path, "r+b") as fh:
            fh.truncate(good_end)
