"""Expert iteration: solve training tasks, fine-tune on the accepted solutions, measure held-out pass@1, repeat.

Round 0 is the base model. Round r >= 1 trains adapter r on the solutions accepted so far, then evaluates it:

    round 0:  base      -> evaluate -> solve train tasks
    round 1:  adapter 1 (trained on round 0's solutions) -> evaluate -> solve train tasks
    ...
    round R:  adapter R -> evaluate

By default each adapter starts again from the base on every solution accepted so far (ReST-EM: the data grows,
the model does not drift); with `continue_adapter` it continues the previous adapter on the newest round's
solutions only (training again on old data would overfit it).

Evaluation is pass@1 at fixed sampling settings: n candidates per task from the round-0 prompt, all of them run
(no early stop, no refinement), pass@1 = mean over tasks of c / n; the same seeds every round, so the rows
differ only by the model. Everything lands in the output folder, which is resumed when run again:

    out/improve.json   settings and per-round results      out/results.md   the table
    out/round-R/eval/<task>.json   out/round-R/train/tasks/<task>/ (solve_task run folders)   out/round-R/adapter/
"""

from __future__ import annotations

import gc
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import MISSING, asdict, dataclass, field
from pathlib import Path

from agent.errors import UserError
from agent.finetune import ADAPTER_METADATA, TrainSettings, read_adapter_metadata, train_adapter
from agent.sft_data import NoTrainingData, build_dataset, chat_renderer, check_contamination

IMPROVE_JSON = "improve.json"
RESULTS_MD = "results.md"


@dataclass
class ImproveSettings:
    train: str  # SUITE[:SPLIT] or a folder of spec files
    eval: str
    rounds: int = 1  # fine-tuning rounds after the base round
    samples: int = 4  # candidates per task per solve round when solving training tasks
    eval_samples: int | None = None  # n of pass@1 when evaluating; None = samples
    solve_rounds: int = 2  # refinement rounds when solving training tasks
    limit_train: int | None = None
    limit_eval: int | None = None
    continue_adapter: bool = False
    model: str | None = None
    quantization: str = "nf4"
    server: list[str] | None = None  # OpenAI-compatible base URLs: sample there, load each adapter there
    data: str | None = None
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 384
    seed: int = 0
    force_eval_tasks: bool = False
    parallel: int = 16  # tasks in flight: their prompts share one batch (agent/parallel.py)
    repairs: bool = True  # also train on (failing code + feedback -> fix) pairs from the refinement rounds
    train_settings: TrainSettings = field(default_factory=TrainSettings)


def parse_suite_arg(arg: str, default_split: str) -> tuple[str, str]:
    """"mbpp:train" -> ("mbpp", "train"); "humaneval" -> ("humaneval", default); a folder path stays whole."""
    if Path(arg).expanduser().is_dir() or ":" not in arg:
        return arg, default_split
    suite, split = arg.rsplit(":", 1)
    if not suite or not split:
        raise UserError(f"{arg!r} is not SUITE[:SPLIT]; write e.g. mbpp:train or humaneval")
    return suite, split


def load_tasks(arg: str, default_split: str, limit: int | None, data: str | None) -> tuple[list, str]:
    """(tasks, where their data came from) for a --train / --eval argument."""
    from benchmarks.suites import load_suite, select_tasks

    suite, split = parse_suite_arg(arg, default_split)
    if split != default_split and suite in ("humaneval", "mbppplus"):
        raise UserError(f"{suite} has no splits (got {arg!r}); write just {suite}")
    loaded = load_suite(suite, data, split=split if suite == "mbpp" else default_split)
    tasks = select_tasks(loaded.tasks, limit=limit)
    if not tasks:
        raise UserError(f"{arg} holds no tasks")
    return tasks, loaded.source


def with_expected_outputs(tasks: list, source: str, sandbox) -> list:
    """MBPP+ tasks get their expected outputs from the canonical solutions (cached); tasks without any are left
    out, as `bench` does."""
    if not any(t.tests.kind == "io" and t.tests.expected is None for t in tasks):
        return tasks
    from benchmarks.mbppplus_expected import attach_expected, expected_cache_file

    usable, _notes = attach_expected(tasks, sandbox, expected_cache_file(source))
    return usable


def eval_samples(settings: ImproveSettings) -> int:
    return settings.eval_samples or settings.samples


def _safe(task_id: str) -> str:
    return task_id.replace("/", "_").replace(":", "_")


# ---------------------------------------------------------------------------------------------------------------
# Evaluation: pass@1 with every candidate run
# ---------------------------------------------------------------------------------------------------------------

def evaluate_pass_at_1(tasks: list, generator, sandbox, out_dir: Path, samples: int, temperature: float,
                       top_p: float, max_new_tokens: int, seed: int, progress=None, parallel: int = 16) -> dict:
    """n candidates per task from its round-0 prompt, all run; one JSON per task in out_dir (reused on resume).
    `parallel` tasks at a time, their prompts sampled together (agent/parallel.py), each candidate stopped where
    its answer is complete. Returns {"pass@1", "tasks", "counts": {task_id: [n, c]}}."""
    from agent.extract import code_from_answer, extraction_target
    from agent.orchestrator import derive_seed
    from agent.parallel import shared_generator, stop_sampling
    from agent.prompts import assemble_program, task_prompt
    from agent.stopping import answer_stopper
    from sandbox import Job

    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, list[int]] = {}
    bar = progress.add("evaluate", total=len(tasks)) if progress else None
    sampling = {"samples": samples, "temperature": temperature, "top_p": top_p, "max_new_tokens": max_new_tokens,
                "seed": seed}

    def advance() -> None:
        if progress:
            done = list(counts.values())
            progress.update(bar, advance=1, info=f"pass@1 {sum(c / n for n, c in done) / len(done):.3f}")

    stopping = False

    def evaluate(task) -> None:
        if stopping:
            return
        messages = task_prompt(task)
        drawn = shared.sample(messages, n=samples, temperature=temperature, top_p=top_p,
                              max_new_tokens=max_new_tokens, seed=derive_seed(seed, 0, 0),
                              stop_when=answer_stopper(extraction_target(task)))
        cands = [{"text": s.text, "code": code_from_answer(s.text, messages, extraction_target(task)),
                  "completion_tokens": s.completion_tokens} for s in drawn]
        futures = [sandbox.submit(Job(program=assemble_program(task, cand["code"]), tests=task.tests,
                                      timeout_s=task.timeout_s, memory_mb=task.memory_mb)) for cand in cands]
        for cand, fut in zip(cands, futures, strict=True):  # the other threads sample meanwhile
            result = fut.result()
            cand.update(status=result.status, passed=result.passed, total=result.total, message=result.message)
        c = sum(1 for cand in cands if cand["status"] == "passed")
        record = {"task_id": task.task_id, "n": len(cands), "c": c, **sampling, "candidates": cands}
        (out_dir / f"{_safe(task.task_id)}.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        counts[task.task_id] = [len(cands), c]
        advance()

    todo = []
    for task in tasks:
        path = out_dir / f"{_safe(task.task_id)}.json"
        old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
        if old is not None and all(old.get(k) == v for k, v in sampling.items()):
            counts[task.task_id] = [old["n"], old["c"]]
            advance()
        else:
            todo.append(task)
    parallel = max(1, min(parallel, len(todo)))
    shared = shared_generator(generator, parallel, samples)
    with ThreadPoolExecutor(parallel, thread_name_prefix="eval") as pool:
        futures = [pool.submit(evaluate, task) for task in todo]
        try:
            for future in futures:
                future.result()
        except BaseException:  # Ctrl-C, SIGTERM, a failure: the tasks evaluated so far are saved
            stopping = True
            stop_sampling(shared, futures)
            raise
    ordered = {t.task_id: counts[t.task_id] for t in tasks}
    return {"pass@1": sum(c / n for n, c in ordered.values()) / len(ordered), "tasks": len(ordered),
            "counts": ordered}


# ---------------------------------------------------------------------------------------------------------------
# Solving training tasks
# ---------------------------------------------------------------------------------------------------------------

def solve_train_tasks(tasks: list, generator, sandbox, out_dir: Path, settings: ImproveSettings,
                      progress=None) -> dict:
    """The full agent (sample, run, refine) on each training task, `settings.parallel` at a time; run folders
    under out_dir/tasks/."""
    from agent.parallel import solve_many

    bar = progress.add("solve train", total=len(tasks)) if progress else None
    finished: list[bool] = []

    def done(task, result) -> None:
        finished.append(result.solved)
        if progress:
            progress.update(bar, advance=1, info=f"solved {sum(finished)}/{len(finished)}")

    solve_many(tasks, generator, sandbox, lambda task: out_dir / "tasks" / _safe(task.task_id),
               parallel=settings.parallel, on_done=done, samples=settings.samples, rounds=settings.solve_rounds,
               mode="refine", temperature=settings.temperature, top_p=settings.top_p, seed=settings.seed,
               max_new_tokens=settings.max_new_tokens)
    return {"solved": sum(finished), "tasks": len(tasks)}


# ---------------------------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------------------------

def _settings_dict(settings: ImproveSettings) -> dict:
    return json.loads(json.dumps(asdict(settings)))


def _same_settings(old: dict, new: dict) -> bool:
    """A run folder's settings against today's; a setting added since the folder was written matches at its
    default (so an upgrade does not orphan a half-finished run)."""
    defaults = {name: f.default for name, f in ImproveSettings.__dataclass_fields__.items()
                if not isinstance(f.default, type(MISSING))}
    return all(old.get(key, defaults.get(key, value)) == value for key, value in new.items()) \
        and set(old) <= set(new)


def run_improve(settings: ImproveSettings, out: str | Path | None = None, console=None) -> dict:
    """Run (or resume) the expert-iteration loop; prints the table and returns the saved results."""
    from rich.console import Console

    from benchmarks.progress import TaskBars

    console = console or Console(stderr=True)
    out = Path(out) if out else Path("runs") / f"improve-{time.strftime('%Y%m%d-%H%M%S')}"
    train_tasks, train_source = load_tasks(settings.train, "train", settings.limit_train, settings.data)
    eval_tasks, eval_source = load_tasks(settings.eval, "test", settings.limit_eval, settings.data)
    overlap = sorted({t.task_id for t in train_tasks} & {t.task_id for t in eval_tasks})
    if overlap:
        raise UserError(f"{len(overlap)} task(s) are both in --train and --eval ({', '.join(overlap[:5])}"
                        f"{', ...' if len(overlap) > 5 else ''}); evaluate on tasks the model does not train on")
    # refuse evaluation-split training tasks before spending hours solving them
    check_contamination((t.task_id for t in train_tasks), settings.force_eval_tasks)

    state_path = out / IMPROVE_JSON
    old = json.loads(state_path.read_text(encoding="utf-8")) if state_path.exists() else None
    if old is not None and not _same_settings(old.get("settings") or {}, _settings_dict(settings)):
        raise UserError(f"{out} holds an improve run with other settings; resume with the same options or "
                        f"choose another --out")

    from infinicode.wiring import load_model, open_sandbox

    with open_sandbox() as sandbox:
        train_tasks = with_expected_outputs(train_tasks, train_source, sandbox)
        eval_tasks = with_expected_outputs(eval_tasks, eval_source, sandbox)
        state = {"settings": _settings_dict(settings), "train_tasks": [t.task_id for t in train_tasks],
                 "eval_tasks": [t.task_id for t in eval_tasks], "rounds": old.get("rounds", []) if old else []}
        if old is not None and old.get("eval_tasks") != state["eval_tasks"]:
            raise UserError(f"{out} holds an improve run on other evaluation tasks; choose another --out")
        out.mkdir(parents=True, exist_ok=True)
        console.print(f"[bold]infinicode improve[/bold]: {len(train_tasks)} training tasks ({settings.train}), "
                      f"{len(eval_tasks)} evaluation tasks ({settings.eval}), {settings.rounds} round(s) -> {out}")
        adapter: Path | None = None
        for r in range(settings.rounds + 1):
            rdir = out / f"round-{r}"
            row = next((x for x in state["rounds"] if x["round"] == r and x.get("done")), None)
            if row is not None:  # finished in an earlier session
                adapter = Path(row["adapter"]) if row.get("adapter") else None
                continue
            t0 = time.time()
            row = {"round": r, "adapter": None, "examples": 0, "trained_tasks": 0, "train_steps": 0,
                   "train_loss": None}
            steps: dict[str, float] = {}  # seconds per step of this round, for the report
            if r > 0:
                started = time.time()
                trained = _train_round(settings, out, r, adapter, console)
                steps["fine-tune"] = round(time.time() - started, 1)
                if trained is None:
                    console.print(f"[yellow]round {r}[/yellow]: no accepted solutions to train on; stopping")
                    break
                adapter, meta = trained
                row.update(adapter=str(adapter), examples=meta["dataset"]["examples"],
                           trained_tasks=len(meta["dataset"]["task_ids"]), train_steps=meta["steps"],
                           train_loss=[meta["loss_per_step"][0]["loss"], meta["loss_per_step"][-1]["loss"]])
            console.print(f"[bold]round {r}[/bold]: model {settings.model or '(embedded default)'}"
                          + (f" + adapter {adapter}" if adapter else " (base)"))
            # With a server, training still runs here on the local base (settings.model), and the server must
            # serve that same base: each round's adapter is loaded there at run time.
            generator = load_model(settings.model, settings.server, str(adapter) if adapter else None,
                                   settings.quantization, console)
            with TaskBars(console) as progress:
                started = time.time()
                ev = evaluate_pass_at_1(eval_tasks, generator, sandbox, rdir / "eval", eval_samples(settings),
                                        settings.temperature, settings.top_p, settings.max_new_tokens,
                                        settings.seed, progress, settings.parallel)
                steps["evaluate"] = round(time.time() - started, 1)
                row.update(eval_pass_at_1=ev["pass@1"], eval_counts=ev["counts"])
                if r < settings.rounds:
                    started = time.time()
                    tr = solve_train_tasks(train_tasks, generator, sandbox, rdir / "train", settings, progress)
                    steps["solve"] = round(time.time() - started, 1)
                    row.update(train_solved=tr["solved"], train_tasks=tr["tasks"])
            if callable(getattr(generator, "close", None)):
                generator.close()
            del generator
            gc.collect()
            row.update(wall_s=round(time.time() - t0, 1), step_s=steps, done=True)
            state["rounds"] = [x for x in state["rounds"] if x["round"] != r] + [row]
            _save(out, state)
            console.print(f"round {r}: eval pass@1 {row['eval_pass_at_1']:.3f}"
                          + (f", train solved {row['train_solved']}/{row['train_tasks']}" if "train_solved" in row
                             else ""))
    state["wall_s"] = round(sum(x.get("wall_s", 0.0) for x in state["rounds"]), 1)  # over all sessions
    _save(out, state)
    print(format_table(state), flush=True)  # the result goes to stdout; progress went to stderr
    console.print(f"saved {out / RESULTS_MD} and {out / IMPROVE_JSON}")
    return state


def _train_round(settings: ImproveSettings, out: Path, r: int, previous: Path | None, console):
    """Adapter r, trained on the accepted training solutions; None when there are none."""
    adapter_dir = out / f"round-{r}" / "adapter"
    meta = read_adapter_metadata(adapter_dir)
    if meta is not None:
        return adapter_dir, meta
    if settings.continue_adapter:
        sources = [out / f"round-{r - 1}" / "train"]
    else:
        sources = [out / f"round-{k}" / "train" for k in range(r)]
    sources = [s for s in sources if s.exists()]
    if not sources:
        return None
    try:
        # every distinct accepted solution, not only the one each run kept (ReST-EM keeps them all)
        dataset = build_dataset(sources, force_eval_tasks=settings.force_eval_tasks, repairs=settings.repairs,
                                all_passing=True,
                                render=chat_renderer(settings.model) if settings.repairs else None)
    except NoTrainingData:
        return None
    ts = TrainSettings(**{**asdict(settings.train_settings), "model": settings.model,
                          "quantization": settings.quantization,
                          "init_adapter": str(previous) if settings.continue_adapter and previous else None})
    console.print(f"[bold]round {r}[/bold]: fine-tuning on {dataset.summary()}")
    result = train_adapter(dataset, adapter_dir, ts)
    if not (adapter_dir / ADAPTER_METADATA).exists():
        raise UserError(f"training wrote no adapter to {adapter_dir}")
    return adapter_dir, result.metadata


def format_table(state: dict) -> str:
    """Markdown table: pass@1 per round against the base (round 0) at the same sampling settings."""
    s = state["settings"]
    rows = sorted((x for x in state["rounds"] if x.get("done")), key=lambda x: x["round"])
    base = rows[0]["eval_pass_at_1"] if rows and rows[0]["round"] == 0 else None
    lines = [f"pass@1 on {s['eval']} ({len(state['eval_tasks'])} tasks, n={s.get('eval_samples') or s['samples']}, "
             f"temperature {s['temperature']}, seed {s['seed']}); training on {s['train']} "
             f"({len(state['train_tasks'])} tasks); "
             + ("each round continues the last adapter" if s["continue_adapter"] else "each round restarts from base"),
             "",
             "| round | model | trained on (examples / tasks) | loss first -> last | train solved (next data) "
             "| eval pass@1 | vs base (paired 95% CI) | wall s |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for x in rows:
        model = "base" if x["round"] == 0 else f"adapter {x['round']}"
        trained = f"{x['examples']} / {x['trained_tasks']}" if x["round"] else "-"
        loss = f"{x['train_loss'][0]:.3f} -> {x['train_loss'][1]:.3f}" if x.get("train_loss") else "-"
        solved = f"{x['train_solved']}/{x['train_tasks']}" if "train_solved" in x else "-"
        delta = _versus_base(x, rows[0]) if base is not None and x["round"] else "-"
        lines.append(f"| {x['round']} | {model} | {trained} | {loss} | {solved} | {x['eval_pass_at_1']:.3f} | "
                     f"{delta} | {x['wall_s']:.0f} |")
    timed = [f"round {x['round']}: " + ", ".join(f"{step} {seconds:.0f} s" for step, seconds in x["step_s"].items())
             for x in rows if x.get("step_s")]
    if timed:  # a step resumed in a later session counts that session's time only
        lines += ["", "time per step: " + "; ".join(timed)]
    if "wall_s" in state:
        lines += ["", f"total wall time {state['wall_s']:.0f} s (solving, fine-tuning and evaluating)"]
    return "\n".join(lines)


def _versus_base(row: dict, base: dict) -> str:
    """pass@1 minus the base's, with a paired bootstrap 95% interval over the evaluation tasks."""
    from benchmarks.passk import paired_bootstrap

    ids = sorted(set(row.get("eval_counts") or {}) & set(base.get("eval_counts") or {}))
    if not ids:
        return f"{row['eval_pass_at_1'] - base['eval_pass_at_1']:+.3f}"
    mine = [row["eval_counts"][i][1] / row["eval_counts"][i][0] for i in ids]
    theirs = [base["eval_counts"][i][1] / base["eval_counts"][i][0] for i in ids]
    mean, low, high = paired_bootstrap(mine, theirs)
    return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]"


def _save(out: Path, state: dict) -> None:
    tmp = out / (IMPROVE_JSON + ".tmp")
    tmp.write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
    tmp.replace(out / IMPROVE_JSON)
    (out / RESULTS_MD).write_text(format_table(state) + "\n", encoding="utf-8")
