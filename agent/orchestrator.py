"""The generate-evaluate-refine loop.

Round 0 samples `samples` candidates from the task prompt. Each later round spends the same number of samples
on refinement prompts for the `top_k` best failing candidates so far (mode "refine"), or on the task prompt
again (mode "resample", the baseline without feedback). The loop stops at the first candidate that passes
every test, or when the rounds, the generated-token budget or the time budget are spent.

Sampling overlaps with execution: candidates are sampled in chunks and each one goes to the sandbox
(`Sandbox.submit`, a future) as soon as it exists, so the sandbox judges chunk k while the model writes
chunk k+1. An in-process model gets all of a round's chunks at once instead, and reads them in one batch.
A candidate whose code is the same as one already run (ignoring comments, docstrings and formatting) is
recorded as a duplicate and not run again.

The run folder (`agent.runfolder`) holds `trajectory.jsonl` (one record per candidate, flushed as it is
written), `run.json` (settings and outcome; rewritten after every round), `solution.py` and `report.md`.
Running again with the same folder and the same settings resumes: recorded candidates are not sampled or run
again, and a finished run is returned as it is.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from pathlib import Path

from agent.errors import UserError
from agent.extract import code_from_answer, extraction_target
from agent.feedback import build_refinement
from agent.prompts import assemble_program, task_prompt
from agent.run_report import run_report
from agent.runfolder import BestCandidate, CandidateRecord, RoundSummary, RunFolder, RunRecord
from agent.scoring import Score, normalize_code, score_candidate
from agent.spec import Task
from agent.stopping import answer_stopper
from sandbox.results import Job, RunResult

MODES = ("refine", "resample")


@dataclass
class SolveResult:
    solved: bool
    solution: str | None  # the best candidate's code (the passing one when solved)
    rounds: list[RoundSummary]
    tokens: int  # generated tokens over the whole run (resumed sessions included)
    wall_s: float
    out_dir: Path
    best_score: Score | None = None
    candidates_run: int = 0
    stop_reason: str = ""  # solved | rounds | tokens | time


def derive_seed(seed: int, round_no: int, first_index: int) -> int:
    """A sampling seed per chunk that does not depend on how many chunks ran before (resume gets the same)."""
    digest = hashlib.sha256(f"{seed}/{round_no}/{first_index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def task_fingerprint(task: Task) -> str:
    data = task.to_dict()
    try:
        text = json.dumps(data, sort_keys=True, default=str)
    except TypeError:  # a dict keyed by tuples among the inputs or expected outputs (MBPP+): keys by their repr
        text = json.dumps(_string_keys(data), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _string_keys(value):
    if isinstance(value, dict):
        return {k if isinstance(k, str) else repr(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_string_keys(v) for v in value]
    return value


def _model_info(generator) -> tuple[str, str | None]:
    info_fn = getattr(generator, "info", None)
    info = info_fn() if callable(info_fn) else {}
    model = info.get("model") or info.get("name") or getattr(generator, "name", None) or type(generator).__name__
    adapter = info.get("adapter")
    return str(model), (str(adapter) if adapter else None)


def _render(generator, messages: list[dict]) -> str:
    render = getattr(generator, "render", None)
    if callable(render):
        return render(messages)
    return "\n\n".join(f"{m['role']}: {m['content']}" for m in messages)


class _Run:
    """State of one solve: candidates, budgets, files. `solve_task` drives it round by round."""

    def __init__(self, task: Task, generator, sandbox, out_dir: Path, settings: dict, on_event):
        self.task, self.generator, self.sandbox, self.out_dir = task, generator, sandbox, out_dir
        self.folder = RunFolder(out_dir)
        self.settings = settings
        self.on_event = on_event or (lambda event: None)
        self.candidates: dict[tuple[int, int], CandidateRecord] = {}
        self.seen: dict[str, tuple[int, int]] = {}  # normalized code -> first candidate with it
        self.tokens = 0
        self.prompt_tokens = 0
        self.previous_wall_s = 0.0
        self.started = time.monotonic()
        self.stop_reason = ""
        self.round0_messages = task_prompt(task)
        self.trajectory = None
        self.stop_early = True
        self.round0_from: str | None = None

    # ---- bookkeeping -------------------------------------------------------------------------------
    def wall_s(self) -> float:
        return self.previous_wall_s + (time.monotonic() - self.started)

    def add(self, cand: CandidateRecord, write: bool) -> None:
        self.candidates[cand.id] = cand
        if cand.duplicate_of is None and not cand.cancelled:
            self.seen.setdefault(normalize_code(cand.code), cand.id)
        if write:
            self.trajectory.write(cand)

    def ran(self, before_round: int | None = None) -> list[CandidateRecord]:
        """Executed candidates (of rounds before `before_round`, if given), in (round, index) order."""
        return [c for _, c in sorted(self.candidates.items()) if c.ran and c.duplicate_of is None
                and (before_round is None or c.round < before_round)]

    def best(self) -> CandidateRecord | None:
        ran = self.ran()
        return min(ran, key=lambda c: c.score.rank_key()) if ran else None  # min is first on ties

    def solved(self) -> bool:
        return any(c.score.solved for c in self.ran())

    def out_of_budget(self) -> str:
        if self.settings["max_tokens"] is not None and self.tokens >= self.settings["max_tokens"]:
            return "tokens"
        if self.settings["time_s"] is not None and self.wall_s() >= self.settings["time_s"]:
            return "time"
        return ""

    # ---- planning ----------------------------------------------------------------------------------
    def plan(self, round_no: int) -> list[tuple[list[int] | None, list[dict], list[int], dict | None]]:
        """(parent id, messages, candidate indices, feedback info) for each prompt of the round."""
        n = self.settings["samples"]
        if round_no == 0 or self.settings["mode"] == "resample":
            return [(None, self.round0_messages, list(range(n)), None)]
        # only earlier rounds: a resumed run must plan a round exactly as the first session did
        # An `unsupported` verdict says nothing about the code (the judge could not decide): never refine on it.
        failing = [c for c in self.ran(before_round=round_no)
                   if not c.score.solved and c.score.status != "unsupported"]
        failing.sort(key=lambda c: c.score.rank_key())
        parents = failing[: max(1, min(self.settings["top_k"], n))]
        if not parents:
            return [(None, self.round0_messages, list(range(n)), None)]
        plans, start = [], 0
        for slot, parent in enumerate(parents):
            count = n // len(parents) + (1 if slot < n % len(parents) else 0)
            prompt = build_refinement(self.task, parent.code, parent.result, self.generator,
                                      max_new_tokens=self.settings["max_new_tokens"])
            feedback = {"kept": prompt.kept, "dropped": prompt.dropped, "prompt_tokens": prompt.prompt_tokens,
                        "code_cut": prompt.code_cut}
            plans.append((list(parent.id), prompt.messages, list(range(start, start + count)), feedback))
            start += count
        return plans

    # ---- one round ---------------------------------------------------------------------------------
    def run_round(self, round_no: int) -> None:
        plans = self.plan(round_no)
        self.on_event({"type": "round_start", "round": round_no, "prompts": len(plans),
                       "parents": [p[0] for p in plans]})
        pending: dict[Future, CandidateRecord] = {}
        chunk_size = self.settings["chunk_size"]
        # pass@k needs every round-0 candidate judged: then round 0 does not stop at the first pass
        self.stop_early = not (round_no == 0 and self.settings["full_first_round"])
        todo = []  # (parent, messages, candidate indices, feedback): the chunks left to sample
        for parent, messages, indices, feedback in plans:
            for at in range(0, len(indices), chunk_size):
                chunk = indices[at: at + chunk_size]
                if not all((round_no, i) in self.candidates for i in chunk):  # else done in an earlier session
                    todo.append((parent, messages, chunk, feedback))
        # A model that batches prompts gets the whole round at once (its prompts are read together, and a task's
        # refinement prompts share their start); otherwise chunk by chunk, so that the loop stops at the first
        # pass before sampling more.
        waves = [todo] if todo and getattr(self.generator, "batches_prompts", False) else [[c] for c in todo]
        for wave in waves:
            self.collect(pending, block=False)
            if self.solved() and self.stop_early:
                break
            reason = self.out_of_budget()
            if reason:
                self.stop_reason = reason
                break
            requests = []
            for _, messages, chunk, _ in wave:
                # sampling stops where the answer is complete, not at the token cap (agent/stopping.py)
                stop_when = self.stopper(messages) if self.settings["stop_at_answer"] else None
                requests.append((messages, len(chunk), derive_seed(self.settings["seed"], round_no, chunk[0]),
                                 stop_when))
            try:
                answers = self.sample_prompts(requests)
            except Exception:
                # the model failed (e.g. its server went down): record what the sandbox judges of the
                # candidates already sampled, so a rerun resumes after them
                self.collect(pending, block=True)
                raise
            for (parent, messages, chunk, feedback), (_, _, seed, _), samples in zip(wave, requests, answers,
                                                                                    strict=True):
                self.record_samples(round_no, parent, messages, chunk, feedback, seed, samples, pending)
                self.on_event({"type": "sampled", "round": round_no, "count": len(chunk), "tokens": self.tokens})
        self.collect(pending, block=True)

    def sample_prompts(self, requests: list[tuple]) -> list[list]:
        """The generator's answers to (messages, n, seed, stop_when) requests, in order."""
        settings = {"temperature": self.settings["temperature"], "top_p": self.settings["top_p"],
                    "max_new_tokens": self.settings["max_new_tokens"]}
        if callable(getattr(self.generator, "sample_prompts", None)):
            return self.generator.sample_prompts(requests, **settings)
        return [self.generator.sample(messages, n=n, seed=seed, **settings,
                                      **({"stop_when": stop_when} if stop_when else {}))
                for messages, n, seed, stop_when in requests]

    def record_samples(self, round_no: int, parent, messages: list[dict], chunk: list[int], feedback: dict | None,
                       seed: int, samples: list, pending: dict[Future, CandidateRecord]) -> None:
        """Record a chunk's samples as candidates and send each new one to the sandbox."""
        for index, sample in zip(chunk, samples, strict=True):  # a backend returns n samples
            self.tokens += int(sample.completion_tokens)
            self.prompt_tokens += int(sample.prompt_tokens)
            if (round_no, index) in self.candidates:
                continue  # a resumed partial chunk: this one was already recorded
            code = code_from_answer(sample.text, messages, extraction_target(self.task))
            cand = CandidateRecord(round=round_no, index=index, parent=parent, seed=seed, messages=messages,
                                   text=sample.text, code=code, prompt_tokens=int(sample.prompt_tokens),
                                   completion_tokens=int(sample.completion_tokens), feedback=feedback)
            original = self.seen.get(normalize_code(cand.code))
            if original is not None:
                cand.duplicate_of = list(original)
                self.add(cand, write=True)
                self.event_candidate(cand)
                continue
            self.seen[normalize_code(cand.code)] = cand.id
            job = Job(program=assemble_program(self.task, cand.code), tests=self.task.tests,
                      timeout_s=self.task.timeout_s, memory_mb=self.task.memory_mb)
            pending[self.sandbox.submit(job)] = cand

    def stopper(self, messages: list[dict]):
        prefix = messages[-1]["content"] if messages and messages[-1].get("role") == "assistant" else ""
        return answer_stopper(extraction_target(self.task), prefix)

    def collect(self, pending: dict[Future, CandidateRecord], block: bool) -> None:
        """Record finished sandbox runs; with block, wait for all. Once one passes, the rest are abandoned."""
        while pending:
            if self.solved() and self.stop_early:
                self.abandon(pending)
                return
            done = [f for f in pending if f.done()]
            if not done:
                if not block:
                    return
                done = list(wait(list(pending), return_when=FIRST_COMPLETED).done)
            for fut in done:
                self.record_result(pending.pop(fut), fut)

    def record_result(self, cand: CandidateRecord, fut: Future) -> None:
        if fut.cancelled():
            cand.cancelled = True
            self.add(cand, write=True)
            return
        result: RunResult = fut.result()
        cand.result = result
        cand.score = score_candidate(cand.code, result, self.task.reference)
        self.add(cand, write=True)
        self.event_candidate(cand)

    def abandon(self, pending: dict[Future, CandidateRecord]) -> None:
        """A solution exists: results already in are recorded, the rest are cancelled (runs already started
        finish in the sandbox on their own; their candidates are recorded as cancelled)."""
        for fut, cand in list(pending.items()):
            if fut.done() and not fut.cancelled():
                self.record_result(cand, fut)
            else:
                fut.cancel()
                cand.cancelled = True
                self.add(cand, write=True)
        pending.clear()

    def event_candidate(self, cand: CandidateRecord) -> None:
        best = self.best()
        self.on_event({
            "type": "candidate", "round": cand.round, "index": cand.index, "duplicate": cand.duplicate_of is not None,
            "status": cand.result.status if cand.result else "duplicate",
            "passed": cand.result.passed if cand.result else None,
            "total": cand.result.total if cand.result else None,
            "candidates_run": len(self.ran()), "tokens": self.tokens,
            "best": best.score.summary() if best else None,
            "best_fraction": best.score.fraction if best else 0.0,
        })

    # ---- summaries and files -------------------------------------------------------------------------
    def round_summaries(self) -> list[RoundSummary]:
        rounds = sorted({c.round for c in self.candidates.values()})
        out = []
        best_so_far = 0.0
        for r in rounds:
            cands = [c for c in self.candidates.values() if c.round == r]
            ran = [c for c in cands if c.ran and c.duplicate_of is None]
            fractions = [c.score.fraction for c in ran]
            best_so_far = max([best_so_far] + fractions)
            solved = sum(1 for c in ran if c.score.solved)
            out.append(RoundSummary(round=r, sampled=len(cands), run=len(ran),
                                    duplicates=sum(1 for c in cands if c.duplicate_of is not None),
                                    passed=solved, best_score=max(fractions, default=0.0),
                                    best_so_far=best_so_far, solved=solved > 0))
        return out

    def run_record(self, status: str) -> RunRecord:
        best = self.best()
        return RunRecord(
            task_id=self.task.task_id, task_name=self.task.name, status=status, solved=self.solved(),
            solution=best.code if best else None,
            best=BestCandidate(best.round, best.index, best.score) if best else None,
            stop_reason=self.stop_reason, round0_messages=self.round0_messages,
            round0_prompt=_render(self.generator, self.round0_messages),
            model=self.settings["model"], adapter=self.settings["adapter"], settings=self.settings,
            tokens=self.tokens, prompt_tokens=self.prompt_tokens, wall_s=round(self.wall_s(), 3),
            candidates_sampled=len(self.candidates), candidates_run=len(self.ran()), rounds=self.round_summaries(),
            round0_from=self.round0_from)

    def save(self, status: str) -> RunRecord:
        record = self.run_record(status)
        self.folder.write_run(record)
        if status == "done":
            best = self.best()
            if best is not None:
                self.folder.write_solution(best.code)
            self.folder.write_report(run_report(self.task, record, best, self.ran()))
        return record


def solve_task(task: Task, generator, sandbox, out_dir: str | Path, samples: int | None = None,
               rounds: int | None = None, top_k: int = 2, mode: str = "refine", temperature: float = 0.8,
               seed: int = 0, on_event: Callable[[dict], None] | None = None, *, max_new_tokens: int = 384,
               top_p: float = 0.95, chunk_size: int = 4, max_tokens: int | None = None,
               time_s: float | None = None, full_first_round: bool = False,
               stop_at_answer: bool = True, round0_from: str | Path | None = None) -> SolveResult:
    """Solve `task` with `generator` judged by `sandbox`, writing the run folder `out_dir` (see module doc).

    samples, rounds, max_tokens and time_s default to the task's budget. With full_first_round every round-0
    candidate is sampled and judged even after one passes (for pass@k); the run still ends after round 0 then.
    stop_at_answer ends each candidate where its answer is complete (agent/stopping.py) instead of at the token cap.
    round0_from: the folder of a finished run of the same task with the same settings but the mode; a new run takes
    its round-0 candidates, judged, instead of sampling its own (bench's resampling baseline shares round 0 with
    refinement, so the two arms differ only in what comes after it). Ignored when the settings differ.
    Resumes a run already in out_dir when its settings match; raises UserError when they do not.
    """
    if mode not in MODES:
        raise UserError(f"mode {mode!r} is unknown; use one of {', '.join(MODES)}")
    samples = samples if samples is not None else task.budget.samples
    rounds = rounds if rounds is not None else task.budget.rounds
    for name, value in (("samples", samples), ("rounds", rounds), ("top_k", top_k), ("chunk_size", chunk_size),
                        ("max_new_tokens", max_new_tokens)):
        if value < 1:
            raise UserError(f"{name} must be at least 1, got {value}")
    model, adapter = _model_info(generator)
    settings = {
        "mode": mode, "samples": samples, "rounds": rounds, "top_k": top_k, "temperature": temperature,
        "top_p": top_p, "seed": seed, "max_new_tokens": max_new_tokens, "chunk_size": chunk_size,
        "full_first_round": full_first_round, "stop_at_answer": stop_at_answer,
        "max_tokens": max_tokens if max_tokens is not None else task.budget.max_tokens,
        "time_s": time_s if time_s is not None else task.budget.time_s,
        "model": model, "adapter": adapter, "task": task_fingerprint(task),
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = _Run(task, generator, sandbox, out_dir, settings, on_event)

    previous = run.folder.read_run()
    if previous is not None:
        old = previous.settings
        changed = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
        if changed:
            raise UserError(f"{out_dir} holds a run with other settings ({', '.join(changed)} differ); "
                            "resume with the same settings or choose another output folder")
        run.previous_wall_s = previous.wall_s
        run.round0_from = previous.round0_from
    elif run.folder.trajectory_path.exists():
        raise UserError(f"{out_dir} holds a trajectory but no run.json; choose another output folder")

    for cand in run.folder.read_trajectory():
        run.add(cand, write=False)
        run.tokens += cand.completion_tokens  # tokens of chunks re-sampled on resume are counted again
        run.prompt_tokens += cand.prompt_tokens
    if previous is not None:
        run.tokens = max(run.tokens, previous.tokens)
        run.prompt_tokens = max(run.prompt_tokens, previous.prompt_tokens)

    if previous is not None and previous.done:
        run.stop_reason = previous.stop_reason
        return _result(run, previous)
    shared = []  # a new run may take round 0 from a finished run (bench's resampling arm)
    if round0_from is not None and previous is None and not run.candidates:
        shared = RunFolder(round0_from).round0_for(settings)
    if shared:
        run.round0_from = str(round0_from)

    run.on_event({"type": "start", "task": task.name, "settings": settings, "resumed": len(run.candidates),
                  "rounds": rounds})
    run.trajectory = run.folder.trajectory_writer()
    try:
        for cand in shared:
            run.add(cand, write=True)
            run.tokens += cand.completion_tokens
            run.prompt_tokens += cand.prompt_tokens
        run.save("running")
        for round_no in range(rounds):
            if run.solved():
                break
            reason = run.out_of_budget()
            if reason:
                run.stop_reason = reason
                break
            run.run_round(round_no)
            summaries = run.round_summaries()
            run.on_event({"type": "round_end", "round": round_no,
                          "summary": summaries[-1] if summaries else None, "tokens": run.tokens})
            run.save("running")
            if run.stop_reason:
                break
        if run.solved():
            run.stop_reason = "solved"
        elif not run.stop_reason:
            run.stop_reason = "rounds"
        record = run.save("done")
    finally:
        run.trajectory.close()
    run.on_event({"type": "done", "solved": record.solved, "stop_reason": run.stop_reason,
                  "best": record.best, "tokens": run.tokens, "wall_s": record.wall_s})
    return _result(run, record)


def _result(run: _Run, record: RunRecord) -> SolveResult:
    return SolveResult(solved=record.solved, solution=record.solution, rounds=record.rounds, tokens=record.tokens,
                       wall_s=record.wall_s, out_dir=run.out_dir,
                       best_score=record.best.score if record.best else None,
                       candidates_run=record.candidates_run, stop_reason=record.stop_reason)
