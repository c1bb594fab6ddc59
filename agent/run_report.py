"""report.md of a run folder: what was asked, the rounds, and the best candidate, in Markdown."""

from __future__ import annotations

from agent.feedback import outcome_line
from agent.runfolder import CandidateRecord, RunRecord
from agent.spec import Task


def run_report(task: Task, record: RunRecord, best: CandidateRecord | None, ran: list[CandidateRecord]) -> str:
    """The report of `record` (its settings, rounds and outcome); best: the best judged candidate; ran: the judged
    candidates, for the count of those the sandbox could not decide."""
    s = record.settings
    lines = [f"# {task.name}: {'solved' if record.solved else 'not solved'}", "",
             f"- task: `{task.task_id}`",
             f"- model: `{record.model}`" + (f", adapter `{record.adapter}`" if record.adapter else ""),
             f"- mode: {s['mode']}; {s['samples']} samples per round, up to {s['rounds']} rounds "
             f"(refining the {s['top_k']} best failing candidates), temperature {s['temperature']}, "
             f"seed {s['seed']}",
             f"- candidates: {record.candidates_sampled} sampled, {record.candidates_run} run",
             f"- generated tokens: {record.tokens}; wall time: {record.wall_s:.1f} s",
             f"- stopped by: {record.stop_reason}"]
    if record.round0_from:
        lines.append(f"- round 0: the candidates of `{record.round0_from}`, not sampled again")
    unsupported = [c for c in ran if c.score.status == "unsupported"]
    if unsupported:
        lines.append(f"- not judged: {len(unsupported)} candidates, because the tests use something the sandbox "
                     f"cannot decide without trusting the program ({unsupported[0].result.message})")
    lines += ["", "## Rounds", "",
              "| round | sampled | run | duplicates | passing | best tests passed |",
              "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in record.rounds:
        lines.append(f"| {r.round} | {r.sampled} | {r.run} | {r.duplicates} | {r.passed} | {r.best_score:.0%} |")
    if best is not None:
        score = best.score
        lines += ["", f"## Best candidate (round {best.round}, #{best.index}): {score.summary()}", "",
                  "```python", best.code.rstrip(), "```"]
        if not score.solved:
            lines += ["", outcome_line(best.result, task)]
    return "\n".join(lines) + "\n"
