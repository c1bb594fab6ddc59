"""report.html: one self-contained page per solve run folder and per bench output folder.

The page is rendered with jinja2 from the templates in benchmarks/templates/ (autoescaped: candidate code, model
output and test messages are text, never markup); styles are inline and the bench plot is inline SVG drawn by
matplotlib from the same figure as pass1_by_round.png, so the file opens from disk with no server or network.
The data on the page comes from `benchmarks.report_data`.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from benchmarks.report_data import STATE_NOTES, BenchPage, RunPage, check_folder, load_bench, load_run

REPORT_HTML = "report.html"


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("benchmarks", "templates"), autoescape=True,
                             undefined=jinja2.ChainableUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["notes"] = STATE_NOTES
    return env


def plot_svg(results: dict) -> str:
    """The pass@1-per-round figure as an <svg> element to inline (text as text, ids stable between runs)."""
    import matplotlib

    from benchmarks.report import rounds_figure

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "infinicode"}):
        fig = rounds_figure(results)
        buffer = io.StringIO()
        # no metadata block: it names web addresses and today's date, and the page must not change between runs
        fig.savefig(buffer, format="svg", metadata={"Format": None, "Type": None, "Creator": None, "Date": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]  # without the XML declaration and DOCTYPE, which do not belong inside HTML


def render_run(page: RunPage) -> str:
    return _environment().get_template("run.html.j2").render(page=page)


def render_bench(page: BenchPage) -> str:
    from markupsafe import Markup

    svg = Markup(plot_svg(page.results)) if page.model_mode and page.results.get("pass1_by_round") else ""
    return _environment().get_template("bench.html.j2").render(page=page, plot_svg=svg)


def _write(path: Path, html: str) -> Path:
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path


def write_run_html(run_dir: str | Path) -> Path:
    """(Re)write report.html in a solve run folder."""
    page = load_run(run_dir)
    return _write(page.path / REPORT_HTML, render_run(page))


def write_bench_html(bench_dir: str | Path) -> Path:
    """(Re)write report.html in a bench output folder, and in each task's run folder found under it."""
    page = load_bench(bench_dir)
    for row in page.rows:
        for arm in row.arms:
            if arm.run is not None:
                write_run_html(arm.run.path)
    return _write(page.path / REPORT_HTML, render_bench(page))


def write_html(folder: str | Path) -> Path:
    """report.html for a solve run folder or a bench output folder; a one-line UserError for anything else."""
    folder = Path(folder)
    return write_bench_html(folder) if check_folder(folder) == "bench" else write_run_html(folder)

