"""What report.html shows, read from the files a run left: no rendering here, so the page's data can be tested.

A solve run folder (`agent.runfolder`) becomes a `RunPage`: the accepted (or best) candidate, and the candidate
tree by round. Within a round, candidates are grouped by the prompt they were written from (the task prompt, or
the refinement of one parent), so each prompt appears once; every candidate carries its verdict, its score, its
tokens and sandbox time, and a diff against its parent. A bench output folder (`results.json`, per-task run
folders under tasks/ and resample/tasks/) becomes a `BenchPage`: its numbers and one row per task that holds the
task's RunPage for each arm.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import UserError
from agent.runfolder import RUN_JSON, TRAJECTORY, CandidateRecord, RoundSummary, RunFolder, RunRecord
from benchmarks.run_bench import task_dir_name

RESULTS_JSON = "results.json"
# What a candidate's state means, for the legend and the badges' tooltips.
STATE_NOTES = {
    "passed": "Every test passed",
    "failed": "Some tests failed",
    "error": "The program or the tests raised an error",
    "syntax_error": "The code does not parse",
    "timeout": "The run went over its time limit",
    "memory_exceeded": "The run went over its memory limit",
    "crashed": "The run ended without a verdict",
    "unsupported": "Not judged: the tests need something the sandbox cannot decide without trusting the program",
    "duplicate": "The same code as an earlier candidate (comments and formatting aside): not run again",
    "cancelled": "Not judged: a passing candidate was found first",
    "not_judged": "Not judged: the run stopped (or was stopped) before the sandbox answered",
}


@dataclass
class Ref:
    """A link to another candidate of the same page."""

    label: str
    anchor: str


@dataclass
class FailingTest:
    name: str
    outcome: str
    message: str
    expected: str | None
    actual: str | None
    traceback: str


@dataclass
class DiffLine:
    kind: str  # meta (file names) | hunk | add | del | ctx
    text: str


@dataclass
class CandidateView:
    anchor: str
    round: int
    index: int
    label: str
    code: str
    text: str  # what the model wrote; `code` was extracted from it
    state: str  # a sandbox status (passed, failed, ...) or duplicate | cancelled | not_judged
    note: str  # one line on the state: the run's message, what it duplicates, ...
    passed: int | None = None
    total: int | None = None
    failing: list[FailingTest] = field(default_factory=list)
    score: str | None = None  # Score.summary()
    fraction: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    duration_s: float | None = None  # sandbox time; the loop records no per-candidate generation time
    stdout: str = ""
    stderr: str = ""
    parent: Ref | None = None
    duplicate_of: Ref | None = None
    diff: list[DiffLine] | None = None  # None: no parent (written from the task prompt)
    added: int = 0
    removed: int = 0
    best: bool = False  # the run's best candidate (the accepted one when the run is solved)
    children: list[CandidateView] = field(default_factory=list)


@dataclass
class PromptGroup:
    """The candidates of one round written from one prompt."""

    parent: Ref | None  # None: the task prompt
    messages: list[dict]
    feedback: dict | None  # which evidence the refinement prompt kept and dropped
    candidates: list[CandidateView]


@dataclass
class RoundView:
    round: int
    summary: RoundSummary | None
    groups: list[PromptGroup]


@dataclass
class RunPage:
    path: Path
    record: RunRecord
    accepted: CandidateView | None  # the best candidate: accepted when the run is solved
    rounds: list[RoundView]
    roots: list[CandidateView]  # the tree: candidates without a parent, each with its children
    candidates: list[CandidateView]
    state_counts: dict[str, int]

    @property
    def finished(self) -> bool:
        return self.record.done


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", str(text)).strip("_") or "x"


def is_run_folder(path: Path) -> bool:
    return (path / RUN_JSON).is_file()


def is_bench_folder(path: Path) -> bool:
    return (path / RESULTS_JSON).is_file()


def code_diff(old: str, new: str, old_label: str, new_label: str) -> list[DiffLine]:
    """A unified diff (difflib) from the parent's code to the child's, each line tagged for colouring."""
    lines = []
    for text in difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label, lineterm=""):
        if len(lines) < 2 and text.startswith(("---", "+++")):
            kind = "meta"
        elif text.startswith("@@"):
            kind = "hunk"
        else:
            kind = {"+": "add", "-": "del"}.get(text[:1], "ctx")
        lines.append(DiffLine(kind, text))
    return lines


def _label(cand_id) -> str:
    return f"r{cand_id[0]} #{cand_id[1]}"


def _candidate_view(rec: CandidateRecord, prefix: str) -> CandidateView:
    anchor = f"{prefix}r{rec.round}c{rec.index}"
    view = CandidateView(anchor=anchor, round=rec.round, index=rec.index, label=_label(rec.id), code=rec.code,
                         text=rec.text, state="", note="", prompt_tokens=rec.prompt_tokens,
                         completion_tokens=rec.completion_tokens)
    if rec.result is not None:
        res = rec.result
        view.state, view.note = res.status, res.message
        view.passed, view.total, view.duration_s = res.passed, res.total, res.duration_s
        view.stdout, view.stderr = res.stdout, res.stderr
        view.failing = [FailingTest(t.name, t.outcome, t.message, t.expected, t.actual, t.traceback)
                        for t in res.tests if t.outcome != "passed"]
    elif rec.duplicate_of is not None:
        view.state = "duplicate"
        view.duplicate_of = Ref(_label(rec.duplicate_of), f"{prefix}r{rec.duplicate_of[0]}c{rec.duplicate_of[1]}")
        view.note = f"same code as {view.duplicate_of.label}: not run again"
    elif rec.cancelled:
        view.state = "cancelled"
    else:
        view.state = "not_judged"
    if rec.score is not None:
        view.score, view.fraction = rec.score.summary(), rec.score.fraction
    return view


def load_run(path: str | Path, prefix: str = "") -> RunPage:
    """The page's data for one solve run folder; `prefix` keeps anchors unique when several runs share a page."""
    folder = RunFolder(path)
    record = folder.read_run()
    if record is None:
        raise UserError(f"{folder.path} has no {RUN_JSON}: not a solve run folder")
    records = sorted(folder.read_trajectory(), key=lambda r: r.id)
    views = {rec.id: _candidate_view(rec, prefix) for rec in records}
    by_id = {rec.id: rec for rec in records}

    roots: list[CandidateView] = []
    for rec in records:
        view = views[rec.id]
        parent_id = tuple(rec.parent) if rec.parent is not None else None
        parent = views.get(parent_id) if parent_id is not None else None
        if parent is None:
            if parent_id is not None:  # a parent the trajectory lost (a torn line): say so, keep the candidate
                view.parent = Ref(_label(parent_id) + " (not recorded)", "")
            roots.append(view)
            continue
        view.parent = Ref(parent.label, parent.anchor)
        view.diff = code_diff(by_id[parent_id].code, rec.code, parent.label, view.label)
        view.added = sum(1 for d in view.diff if d.kind == "add")
        view.removed = sum(1 for d in view.diff if d.kind == "del")
        parent.children.append(view)

    best = None
    if record.best is not None:
        best = views.get((record.best.round, record.best.index))
        if best is not None:
            best.best = True

    summaries = {s.round: s for s in record.rounds}
    rounds = []
    for round_no in sorted({rec.round for rec in records}):
        groups: dict[tuple | None, PromptGroup] = {}
        for rec in (r for r in records if r.round == round_no):
            key = tuple(rec.parent) if rec.parent is not None else None
            if key not in groups:
                parent = views[rec.id].parent
                messages = rec.messages or (record.round0_messages if key is None else [])
                groups[key] = PromptGroup(parent=parent, messages=messages, feedback=rec.feedback, candidates=[])
            groups[key].candidates.append(views[rec.id])
        rounds.append(RoundView(round_no, summaries.get(round_no), list(groups.values())))

    counts: dict[str, int] = {}
    for view in views.values():
        counts[view.state] = counts.get(view.state, 0) + 1
    return RunPage(path=folder.path, record=record, accepted=best, rounds=rounds, roots=roots,
                   candidates=list(views.values()), state_counts=counts)


# ---------------------------------------------------------------- bench folders


@dataclass
class ArmRun:
    """One task in one arm (refinement or resampling) of a bench."""

    arm: str
    solved: bool
    solved_in_round: int | None
    run: RunPage | None  # None: the task's run folder is missing (moved, or a canonical bench)


@dataclass
class TaskRow:
    task_id: str
    name: str
    anchor: str
    solved: bool
    solved_in_round: int | None
    best_score: str | None  # the best candidate's Score.summary()
    best_fraction: float | None
    round0: str  # passing / judged round-0 candidates
    candidates_run: int | None
    tokens: int
    wall_s: float
    status: str | None = None  # canonical mode: the reference's verdict
    arms: list[ArmRun] = field(default_factory=list)


@dataclass
class BenchPage:
    path: Path
    results: dict
    rows: list[TaskRow]
    curve: list[tuple[int, float | None, float | None]]  # round, refinement pass@1, resampling pass@1

    @property
    def model_mode(self) -> bool:
        return self.results.get("mode") == "model"


def _task_run_dir(bench: Path, arm_root: str, row: dict) -> Path | None:
    """A task's run folder: under the bench folder (where run_bench puts it), else the path results.json gives."""
    inside = bench / arm_root / task_dir_name(row["task_id"])
    if is_run_folder(inside):
        return inside
    recorded = Path(row["run_dir"]) if row.get("run_dir") else None
    return recorded if recorded is not None and is_run_folder(recorded) else None


def _arm(bench: Path, arm: str, arm_root: str, row: dict, anchor: str) -> ArmRun:
    run_dir = _task_run_dir(bench, arm_root, row)
    run = load_run(run_dir, prefix=f"{anchor}-{arm[:3]}-") if run_dir is not None else None
    return ArmRun(arm, bool(row.get("solved")), row.get("solved_in_round"), run)


def load_bench(path: str | Path) -> BenchPage:
    bench = Path(path)
    try:
        results = json.loads((bench / RESULTS_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{bench / RESULTS_JSON} is not a bench result ({exc}); run the bench again") from None
    base = results.get("baseline") or {}
    base_rows = {r["task_id"]: r for r in base.get("per_task") or []}
    rows = []
    for number, t in enumerate(results.get("per_task") or []):
        anchor = f"t{number}-{slug(t['task_id'])}"
        row = TaskRow(task_id=t["task_id"], name=t.get("name") or t["task_id"], anchor=anchor,
                      solved=bool(t.get("solved")), solved_in_round=t.get("solved_in_round"), best_score=None,
                      best_fraction=None, round0=f"{t.get('c', 0)}/{t.get('n', 0)}",
                      candidates_run=t.get("candidates_run"), tokens=t.get("tokens", 0), wall_s=t.get("wall_s", 0.0),
                      status=t.get("status"))
        if results.get("mode") == "model":
            row.arms.append(_arm(bench, "refinement", "tasks", t, anchor))
            if t["task_id"] in base_rows:
                row.arms.append(_arm(bench, "resampling", "resample/tasks", base_rows[t["task_id"]], anchor))
            run = row.arms[0].run
            if run is not None and run.record.best is not None:
                row.best_score, row.best_fraction = run.record.best.score.summary(), run.record.best.score.fraction
        elif t.get("total") is not None:
            row.best_score = f"{t.get('passed')}/{t.get('total')} tests"
            row.best_fraction = t["passed"] / t["total"] if t["total"] else 0.0
        rows.append(row)
    refine = results.get("pass1_by_round") or []
    resample = base.get("pass1_by_round") or []
    curve = [(r, refine[r] if r < len(refine) else None, resample[r] if r < len(resample) else None)
             for r in range(max(len(refine), len(resample)))]
    return BenchPage(path=bench, results=results, rows=rows, curve=curve)


def check_folder(path: Path) -> str:
    """'run' or 'bench'; a one-line UserError for anything else."""
    if not path.is_dir():
        raise UserError(f"{path}: no such folder; pass a solve run folder or a bench output folder")
    if is_bench_folder(path):
        return "bench"
    if is_run_folder(path):
        return "run"
    what = "a trajectory but no run.json" if (path / TRAJECTORY).is_file() else "neither run.json nor results.json"
    raise UserError(f"{path} holds {what}: pass a solve run folder (run.json) or a bench output folder "
                    f"(results.json)")
