"""A bench's report.md and its plot of pass@1 per round (refinement against resampling at the same budget)."""

from __future__ import annotations

from pathlib import Path


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def pass_at_line(pass_at: dict) -> str:
    return ", ".join(f"pass@{k} {_pct(v)}" for k, v in sorted(pass_at.items(), key=lambda kv: int(kv[0]))) or "-"


def write_report(results: dict, path: Path) -> Path:
    """Markdown: what was run, the headline numbers, the refinement curve, each task, and every exception."""
    lines = [f"# infinicode bench: {results['suite']} ({results['mode']})", ""]
    share = results["solved"] / results["tasks"] if results["tasks"] else None
    lines += [f"- data: `{results['source']}`" + (f", split {results['split']}" if results.get("split") else ""),
              f"- tasks: {results['tasks']}; solved: {results['solved']} ({_pct(share)})"]
    if results["mode"] == "model":
        settings = results.get("settings") or {}
        adapter = f", adapter `{results['adapter']}`" if results.get("adapter") else ""
        lines += [f"- model: `{results.get('model')}`{adapter}",
                  f"- {settings.get('samples')} samples per round, up to {settings.get('rounds')} rounds "
                  f"(refining the {settings.get('top_k')} best failing candidates), "
                  f"temperature {settings.get('temperature')}, seed {settings.get('seed')}, "
                  f"{settings.get('max_new_tokens')} new tokens per candidate",
                  f"- pass@k over round-0 candidates (n = {results['n_per_task']} per task, unbiased estimator of "
                  f"Chen et al. 2021): {pass_at_line(results['pass_at'])}",
                  f"- generated tokens: {results['tokens']}; task time: {results['wall_s']:.1f} s summed over "
                  f"tasks ({results['wall_s'] / max(1, results['tasks']):.1f} s per task; up to "
                  f"{results.get('config', {}).get('parallel', 1)} ran at once)"
                  + (f"; this session's bench wall time: {results['bench_wall_s']:.1f} s"
                     if results.get("bench_wall_s") is not None else "")]
        if results.get("round0_incomplete"):
            lines.append(f"- round 0 stopped before all its samples were judged on {len(results['round0_incomplete'])} "
                         "tasks: pass@k there counts only the judged candidates")
        lines += ["", "## pass@1 after each round", "",
                  "pass@1 of the agent's answer after round r: the share of tasks it has solved by then. "
                  "Candidates are judged by the benchmark's tests (oracle feedback); the resampling baseline draws "
                  "the same number of samples per round from the task prompt, with no feedback.", ""]
        base = results.get("baseline")
        header = "| round | refinement |" + (" resampling |" if base else "")
        lines += [header, "| ---: | ---: |" + (" ---: |" if base else "")]
        curve = results["pass1_by_round"]
        base_curve = base["pass1_by_round"] if base else []
        for r in range(max(len(curve), len(base_curve))):
            row = f"| {r} | {_pct(curve[r]) if r < len(curve) else '-'} |"
            if base:
                row += f" {_pct(base_curve[r]) if r < len(base_curve) else '-'} |"
            lines.append(row)
        if base:
            lines += ["", f"Resampling: solved {base['solved']}/{base['tasks']}, {pass_at_line(base['pass_at'])}, "
                          f"{base['tokens']} tokens, {base['wall_s']:.1f} s."]
        lines += ["", "## Tasks", "", "| task | solved | round | round-0 passing | candidates run | tokens | wall s |",
                  "| --- | :---: | ---: | ---: | ---: | ---: | ---: |"]
        for t in results["per_task"]:
            lines.append(f"| {t['task_id']} | {'yes' if t['solved'] else 'no'} | "
                         f"{'-' if t['solved_in_round'] is None else t['solved_in_round']} | {t['c']}/{t['n']} | "
                         f"{t['candidates_run']} | {t['tokens']} | {t['wall_s']:.1f} |")
    else:
        lines.append(f"- canonical solutions through the sandbox: {results['solved']}/{results['tasks']} pass")
        lines += ["", "## Exceptions", ""]
        if results.get("exceptions"):
            lines += [f"- `{e['task_id']}`: {e['reason']}" for e in results["exceptions"]]
        else:
            lines.append("None: every reference solution passes its tests.")
    notes = results.get("notes") or []
    if notes:
        lines += ["", "## Data notes", ""]
        lines += [f"- `{n['task_id']}`: {n['note']}" for n in notes]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def plot_rounds(results: dict, path: Path) -> Path:
    """PNG of pass@1 after each round: refinement, and resampling when it was run."""
    fig = rounds_figure(results)
    import matplotlib.pyplot as plt  # after rounds_figure chose the Agg backend

    fig.savefig(path)
    plt.close(fig)
    return path


def rounds_figure(results: dict):
    """The figure of pass@1 after each round (the PNG here, inline SVG in report.html); the caller closes it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    curve = results["pass1_by_round"]
    ax.plot(range(len(curve)), [100 * v for v in curve], marker="o", label="refinement (feedback)")
    base = results.get("baseline")
    if base:
        ax.plot(range(len(base["pass1_by_round"])), [100 * v for v in base["pass1_by_round"]], marker="s",
                linestyle="--", label="resampling (same budget)")
    if "1" in results.get("pass_at", {}):
        ax.axhline(100 * results["pass_at"]["1"], color="gray", linewidth=0.8, linestyle=":",
                   label="pass@1 of one round-0 sample")
    ax.set_xlabel("round")
    ax.set_ylabel("pass@1 of the answer (% of tasks solved)")
    ax.set_xticks(range(max(len(curve), len(base["pass1_by_round"]) if base else 0)))
    ax.set_ylim(0, 103)
    ax.set_title(f"{results['suite']}: {results['tasks']} tasks, {results.get('model') or ''}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
