"""The SFT dataset for fine-tuning: accepted solutions (and, optionally, repairs) read from run folders, guarded
against evaluation tasks, and tokenized with the prompt masked out of the loss.

Data flow: run.json files (solved=true) -> `SFTExample`s (the round-0 prompt text the model saw, the accepted
code as the answer the model should have written) -> token ids with the prompt masked out of the loss.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agent.errors import UserError
from agent.runfolder import RUN_JSON, RunFolder
from agent.scoring import normalize_code

IGNORE_INDEX = -100  # label value the loss skips (prompt tokens and padding)


# ---------------------------------------------------------------------------------------------------------------
# Contamination guard
# ---------------------------------------------------------------------------------------------------------------

# MBPP's conventional split by task id: 1-10 few-shot prompts, 11-510 test, 511-600 validation, 601-974 train.
MBPP_TEST_IDS = range(11, 511)
_HUMANEVAL_ID = re.compile(r"^humaneval(?:plus|\+)?(?:[/_:\-].*)?$", re.IGNORECASE)
_MBPP_ID = re.compile(r"^mbpp(?:plus|\+)?(?![a-z]).*?(\d+)$", re.IGNORECASE)


def eval_split_of(task_id: str) -> str | None:
    """The evaluation split a task id belongs to ("HumanEval", "MBPP test"), or None for a task free to train on.

    Accepts the id forms the suites use: "HumanEval/12", "Mbpp/11", "mbpp/11", "MBPP_11", "mbpp:test/11".
    """
    tid = task_id.strip()
    if _HUMANEVAL_ID.match(tid):
        return "HumanEval"
    m = _MBPP_ID.match(tid)
    if m and int(m.group(1)) in MBPP_TEST_IDS:
        return "MBPP test"
    return None


def check_contamination(task_ids: Iterable[str], force: bool) -> list[str]:
    """Task ids from evaluation splits, sorted. Raises UserError when there are any and `force` is off."""
    flagged = sorted({t for t in task_ids if eval_split_of(t)}, key=_natural_key)
    if flagged and not force:
        shown = ", ".join(flagged[:10]) + (f", ... ({len(flagged) - 10} more)" if len(flagged) > 10 else "")
        raise UserError(f"{len(flagged)} task(s) come from evaluation splits (HumanEval, MBPP test ids 11-510): "
                        f"{shown}; training on them contaminates later benchmark numbers: leave those runs out or "
                        f"pass --force-eval-tasks")
    return flagged


def _natural_key(s: str) -> list:
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", s)]


# ---------------------------------------------------------------------------------------------------------------
# Dataset
# ---------------------------------------------------------------------------------------------------------------

class NoTrainingData(UserError):
    """The folders hold no accepted solution (no runs, or none solved)."""


@dataclass
class SFTExample:
    task_id: str
    prompt: str  # the round-0 prompt text exactly as the model saw it (chat template applied)
    completion: str  # what the model should answer after the prompt (EOS is added as a token id)
    code: str  # the accepted solution
    source: str  # the run.json it came from
    kind: str = "solution"  # "solution": round-0 prompt -> passing code; "repair": refinement prompt -> the fix

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SFTDataset:
    examples: list[SFTExample]
    run_files: int  # run.json files found
    unsolved: int  # of those, runs that did not solve their task
    duplicates: int  # accepted solutions dropped as duplicates (same task, same normalized code)
    eval_task_ids: list[str] = field(default_factory=list)  # evaluation-split ids kept because of force
    sources: list[str] = field(default_factory=list)  # the folders given

    @property
    def task_ids(self) -> list[str]:
        return sorted({e.task_id for e in self.examples}, key=_natural_key)

    @property
    def sha256(self) -> str:
        """Hash of what is trained on (prompts and completions in order), independent of where it came from."""
        h = hashlib.sha256()
        for e in self.examples:
            h.update(json.dumps([e.task_id, e.prompt, e.completion], ensure_ascii=False).encode())
            h.update(b"\n")
        return h.hexdigest()

    def write_jsonl(self, path: Path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            for e in self.examples:
                f.write(json.dumps(e.to_dict(), ensure_ascii=False) + "\n")

    def summary(self) -> str:
        repairs = sum(e.kind == "repair" for e in self.examples)
        return (f"{len(self.examples)} examples from {len(self.task_ids)} tasks "
                + (f"({repairs} of them repairs) " if repairs else "") + f"({self.run_files} runs found, "
                f"{self.unsolved} unsolved, {self.duplicates} duplicates dropped"
                + (f", {len(self.eval_task_ids)} evaluation tasks forced in" if self.eval_task_ids else "") + ")")


def find_run_files(paths: Iterable[str | Path]) -> list[Path]:
    """run.json files under the given run or benchmark folders (searched recursively), or given directly."""
    found: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise UserError(f"{p} does not exist; give run folders or benchmark output folders")
        if p.is_file():
            if p.name != RUN_JSON:
                raise UserError(f"{p} is not a run.json file; give run folders or benchmark output folders")
            found.append(p)
        else:
            found.extend(sorted(p.rglob(RUN_JSON)))
    return sorted(set(found))


def format_target(code: str) -> str:
    """The answer the model should give: the accepted code in one fenced python block (what extract_code reads)."""
    return f"```python\n{code.strip(chr(10))}\n```"


def chat_renderer(model: str | None = None) -> Callable[[list[dict]], str]:
    """Messages -> prompt text exactly as `model` (None: the embedded one) sees them: its chat template."""
    from agent.provider.hf import load_tokenizer, render_messages

    tokenizer = load_tokenizer(model)
    return lambda messages: render_messages(tokenizer, messages)


def build_dataset(paths: Iterable[str | Path], force_eval_tasks: bool = False,
                  render: Callable[[list[dict]], str] | None = None, all_passing: bool = False,
                  repairs: bool = False) -> SFTDataset:
    """Accepted solutions from run folders as SFT examples, deduplicated, with the contamination guard applied.

    render: turns messages into prompt text as the model sees them (needed for repairs, and for run.json files
    that lack `round0_prompt`).
    all_passing: also take every other passing candidate in each solved run's trajectory.jsonl (more data per task,
    as ReST-EM does), each paired with the round-0 prompt.
    repairs: also learn to repair: every passing refinement candidate, paired with the prompt it answered (the
    failing code and the feedback the model saw), so the model learns the step the loop asks of it.
    """
    if repairs and render is None:
        raise UserError("repair examples need the model's prompt format: pass render (e.g. chat_renderer(model))")
    paths = list(paths)
    files = find_run_files(paths)
    if not files:
        raise NoTrainingData(f"no run.json found under {', '.join(map(str, paths))}; run `infinicode solve` or "
                        f"`infinicode bench` first and give their output folders")
    candidates: list[SFTExample] = []
    unsolved = 0
    for f in files:
        folder = RunFolder(f.parent)
        run = folder.read_run()
        if not run.solved or not (run.solution or "").strip():
            unsolved += 1
            continue
        prompt = run.round0_prompt
        if not prompt:
            if render is None or not run.round0_messages:
                raise UserError(f"{f} has no round0_prompt; re-run that task with the current infinicode")
            prompt = render(run.round0_messages)
        task_id = str(run.task_id or f.parent.name)
        codes = [run.solution]
        if all_passing:
            codes += [c.code for c in folder.read_trajectory() if c.result is not None and c.result.ok
                      and c.code.strip()]
        for code in codes:
            candidates.append(SFTExample(task_id, prompt, format_target(code), code, str(f)))
        if repairs:
            candidates += [SFTExample(task_id, render(c.messages), format_target(c.code), c.code, str(f), "repair")
                           for c in folder.read_trajectory()
                           if c.parent is not None and c.messages and c.result is not None and c.result.ok
                           and c.code.strip()]

    flagged = check_contamination((e.task_id for e in candidates), force_eval_tasks)
    seen: set[tuple[str, str]] = set()
    examples: list[SFTExample] = []
    for e in sorted(candidates, key=lambda e: (_natural_key(e.task_id), e.source)):
        # a solution once per task; a repair once per prompt it answers (the same fix of other failures is kept)
        key = (e.task_id, normalize_code(e.code), e.prompt if e.kind == "repair" else "")
        if key not in seen:
            seen.add(key)
            examples.append(e)
    if not examples:
        raise NoTrainingData(f"none of the {len(files)} runs found solved its task, so there is nothing to train on; "
                        f"solve more tasks (more samples or rounds) first")
    return SFTDataset(examples, len(files), unsolved, len(candidates) - len(examples), flagged,
                      [str(p) for p in paths])


# ---------------------------------------------------------------------------------------------------------------
# Tokenization: loss on the completion only
# ---------------------------------------------------------------------------------------------------------------

def encode_prompt(tokenizer, prompt: str) -> list[int]:
    """Token ids of a rendered prompt, the way generation encodes it: a chat template already holds its own
    special tokens, a plain prompt gets the tokenizer's usual ones (e.g. BOS)."""
    has_template = bool(getattr(tokenizer, "chat_template", None))
    return tokenizer(prompt, add_special_tokens=not has_template)["input_ids"]


def tokenize_example(tokenizer, ex: SFTExample, max_length: int) -> tuple[list[int], list[int]] | None:
    """(input_ids, labels) with the prompt masked; the prompt is cut from the left when too long.
    None when the completion alone does not fit in max_length."""
    prompt_ids = encode_prompt(tokenizer, ex.prompt)
    completion_ids = tokenizer(ex.completion, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        completion_ids = completion_ids + [tokenizer.eos_token_id]
    room = max_length - len(completion_ids)
    if room < min(64, max_length // 4):
        return None
    prompt_ids = prompt_ids[-room:]
    return prompt_ids + completion_ids, [IGNORE_INDEX] * len(prompt_ids) + completion_ids
