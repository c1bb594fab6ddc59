"""How long refinement prompts are: the prompts a bench run recorded, against the prompts today's feedback code
builds from the same failed candidates, counted with the same tokenizer in one run.

    python benchmarks/bench_refine_prompt.py RUN_DIR [--suite humaneval] [--model PATH_OR_ID]

RUN_DIR is a `bench` output folder (or its `tasks/` folder). Every candidate of round 1 or later names the parent
whose failure its prompt described; that parent's code and sandbox result are rebuilt into a prompt here. The
model is not loaded, only its tokenizer and chat template, so this takes seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class TokenCounter:
    """What build_refinement needs of a generator: its context length, chat template and token count."""

    def __init__(self, model: str | None):
        from transformers import AutoConfig, AutoTokenizer

        from agent.model_store import ensure_default_model

        path = model or str(ensure_default_model())
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.context_length = int(getattr(AutoConfig.from_pretrained(path), "max_position_embeddings", 2048))

    def render(self, messages: list[dict]) -> str:
        from agent.provider.hf import render_messages

        return render_messages(self.tokenizer, messages)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])


def pairs(run_dir: Path, tasks: dict):
    """(task, recorded messages, parent record) for every refinement candidate the run recorded."""
    from agent.runfolder import RunFolder

    tasks_dir = run_dir / "tasks" if (run_dir / "tasks").is_dir() else run_dir
    for folder in sorted(p for p in tasks_dir.iterdir() if p.is_dir()):
        run = RunFolder(folder).read_run()
        task = tasks.get(run.task_id) if run is not None else None
        if task is None:
            continue
        records = {r.id: r for r in RunFolder(folder).read_trajectory()}
        for record in records.values():
            parent = records.get(tuple(record.parent)) if record.parent else None
            if record.round >= 1 and parent is not None and parent.result is not None and record.messages:
                yield task, record.messages, parent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--suite", default="humaneval")
    parser.add_argument("--data", default=None)
    parser.add_argument("--model", default=None, help="tokenizer to count with (default: the embedded model)")
    parser.add_argument("--max-new-tokens", type=int, default=None, help="default: the run's own")
    args = parser.parse_args(argv)

    from agent.feedback import build_refinement
    from benchmarks.suites import load_suite

    bench_json = args.run_dir / "bench.json"
    settings = json.loads(bench_json.read_text()) if bench_json.exists() else {}
    max_new = args.max_new_tokens or int(settings.get("max_new_tokens") or 384)
    tasks = {t.task_id: t for t in load_suite(args.suite, args.data).tasks}
    counter = TokenCounter(args.model)

    seen: set[tuple[str, tuple[int, int]]] = set()  # a parent refined by several samples: one prompt
    recorded, rebuilt, shorter_code = [], [], 0
    for task, messages, parent in pairs(args.run_dir, tasks):
        if (task.task_id, parent.id) in seen:
            continue
        seen.add((task.task_id, parent.id))
        prompt = build_refinement(task, parent.code, parent.result, counter, max_new_tokens=max_new)
        recorded.append(counter.count_tokens(counter.render(messages)))
        rebuilt.append(prompt.prompt_tokens)
        shorter_code += messages[-1]["content"].count("\n") > prompt.messages[-1]["content"].count("\n")
    if not recorded:
        raise SystemExit(f"no refinement candidates under {args.run_dir}")

    def row(name: str, values: list[int]) -> str:
        return (f"| {name} | {len(values)} | {statistics.mean(values):.1f} | {statistics.median(values):.0f} "
                f"| {sum(values):,} | {sum(values) / sum(recorded):.2f}x |")

    print(f"refinement prompts of {args.run_dir} ({args.suite}), tokens by {args.model or 'the embedded model'}")
    print("| prompts | n | mean tokens | median | total | vs recorded |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(row("as recorded by the run", recorded))
    print(row("rebuilt by today's feedback", rebuilt))
    print(f"{shorter_code} of {len(rebuilt)} rebuilt prompts have fewer lines than the recorded one")


if __name__ == "__main__":
    main()
