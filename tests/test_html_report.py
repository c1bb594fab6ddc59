"""report.html: the page's data from run folders the real loop wrote (scripted generator, real sandbox), the
`infinicode report` verb, and the page itself in a real browser (Debian's headless Chromium)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.orchestrator import solve_task
from agent.prompts import task_prompt
from agent.provider import Sample
from agent.spec import load_spec
from benchmarks.html_report import REPORT_HTML, write_html
from benchmarks.report_data import code_diff, load_bench, load_run
from benchmarks.run_bench import BenchConfig, run_bench
from tests.spec_text import add_spec
from tests.test_orchestrator import FIX, SYNTAX, WRONG, WRONG_2, WRONG_REFORMATTED, ScriptedGenerator

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# Fails 1 of 4 like WRONG; its string must reach the page as text, never as markup.
HOSTILE = ('def add(a, b):\n    note = "</pre><script>document.body.dataset.pwned = 1</script>"\n'
           '    return a - b + 0\n')
SCREEN = (1280, 1600)


class QueueGenerator:
    """Hands out candidates in the order the bench asks for them (tasks in order, refinement arm first)."""

    context_length = 4096
    name = "scripted"

    def __init__(self, codes: list[str]):
        self.codes = list(codes)

    def sample(self, messages, n, **kw):
        codes, self.codes = self.codes[:n], self.codes[n:]
        assert len(codes) == n, "the bench asked for more candidates than the script has"
        return [Sample(f"```python\n{c}```", 10, len(c.split())) for c in codes]

    def count_tokens(self, text: str) -> int:
        return len(text.split())


@pytest.fixture(scope="module")
def run_dir(sandbox, tmp_path_factory) -> Path:
    """Three rounds of the real loop on examples/add.toml: a syntax error and a wrong answer; then a copy of the
    wrong answer (a duplicate) and the hostile one; then one more wrong answer and the fix."""
    out = tmp_path_factory.mktemp("solve") / "run"
    gen = ScriptedGenerator([SYNTAX, WRONG, WRONG_REFORMATTED, HOSTILE, WRONG_2, FIX])
    result = solve_task(load_spec(EXAMPLES / "add.toml"), gen, sandbox, out, samples=2, rounds=3, top_k=2)
    assert result.solved and not gen.script
    write_html(out)
    return out


@pytest.fixture(scope="module")
def bench_dir(sandbox, tmp_path_factory) -> Path:
    """A bench over two spec files with a resampling baseline, written by run_bench (report.html included)."""
    root = tmp_path_factory.mktemp("bench")
    specs = root / "specs"
    specs.mkdir()
    for name in ("add_one", "add_two"):
        (specs / f"{name}.toml").write_text(add_spec(name))
    script = [WRONG, FIX,  # refinement, add_one: solved in round 0
              WRONG, SYNTAX, WRONG_2, FIX,  # refinement, add_two: round 1 refines both, the second fix passes
              # resampling shares round 0 with refinement: add_one is solved there, and add_two samples only
              # round 1: never solved, one duplicate (of round 0's WRONG)
              WRONG_2, WRONG]
    out = root / "out"
    run_bench(BenchConfig(suite=str(specs), samples=2, rounds=2, baseline="resample", out=str(out),
                          parallel=1),
              generator=QueueGenerator(script), sandbox=sandbox)
    return out


def by_label(page) -> dict:
    return {c.label: c for c in page.candidates}


# ---------------------------------------------------------------- the page's data


def test_run_tree_parents_children_and_accepted_solution(run_dir):
    page = load_run(run_dir)
    cands = by_label(page)
    assert page.record.solved and page.accepted is cands["r2 #1"] and page.accepted.code == FIX
    assert [c.best for c in page.candidates].count(True) == 1
    # round 0 comes from the task prompt; each later candidate hangs under the candidate it refined
    assert [c.label for c in page.roots] == ["r0 #0", "r0 #1"]
    assert [c.label for c in cands["r0 #1"].children][:1] == ["r1 #0"]
    assert [c.label for c in cands["r0 #0"].children] == ["r1 #1"]
    round2_parents = {cands["r2 #0"].parent.label, cands["r2 #1"].parent.label}
    assert round2_parents == {"r0 #1", "r1 #1"}  # the two best failing (1/4 each); the syntax error is left
    assert cands["r2 #1"].parent.anchor == cands[cands["r2 #1"].parent.label].anchor
    # one prompt group per parent, each with the prompt it was written from
    assert [r.round for r in page.rounds] == [0, 1, 2]
    [round0] = page.rounds[0].groups
    assert round0.parent is None and round0.messages == task_prompt(load_spec(EXAMPLES / "add.toml"))
    refine = {g.parent.label: g for g in page.rounds[1].groups}
    assert set(refine) == {"r0 #0", "r0 #1"}
    assert WRONG.strip() in refine["r0 #1"].messages[-1]["content"]
    assert "expected: 3" in refine["r0 #1"].messages[-1]["content"]
    assert refine["r0 #0"].feedback["kept"] and page.rounds[1].summary.duplicates == 1


def test_run_verdicts_duplicates_and_diffs(run_dir):
    cands = by_label(load_run(run_dir))
    syntax, wrong, copy, hostile = cands["r0 #0"], cands["r0 #1"], cands["r1 #0"], cands["r1 #1"]
    assert syntax.state == "syntax_error" and "1:14" in syntax.note and syntax.diff is None
    assert (wrong.state, wrong.passed, wrong.total) == ("failed", 1, 4)
    failing = {t.name: t for t in wrong.failing}
    assert len(failing) == 3 and failing["assert add(1, 2) == 3"].expected == "3"
    assert failing["assert add(1, 2) == 3"].actual == "-1" and failing["assert add(1, 2) == 3"].outcome == "failed"
    assert wrong.score.startswith("1/4 tests") and wrong.fraction == 0.25 and wrong.duration_s > 0
    assert wrong.completion_tokens == len(WRONG.split())
    # a duplicate is shown as one, pointing at the candidate it copies, and was never judged
    assert copy.state == "duplicate" and copy.duplicate_of.label == "r0 #1" and copy.total is None
    assert copy.duplicate_of.anchor == wrong.anchor
    # diffs against the parent: the fix of the syntax error adds the colon
    assert ("del", "-def add(a, b)") in [(d.kind, d.text) for d in hostile.diff]
    assert ("add", '+    note = "</pre><script>document.body.dataset.pwned = 1</script>"') in [
        (d.kind, d.text) for d in hostile.diff]
    assert [d.kind for d in hostile.diff[:3]] == ["meta", "meta", "hunk"] and hostile.added == 3
    assert cands["r2 #1"].state == "passed" and cands["r2 #1"].failing == []


def test_code_diff_marks_lines():
    diff = code_diff("a\nb\n", "a\nc\n", "old", "new")
    assert [(d.kind, d.text) for d in diff] == [("meta", "--- old"), ("meta", "+++ new"), ("hunk", "@@ -1,2 +1,2 @@"),
                                               ("ctx", " a"), ("del", "-b"), ("add", "+c")]
    assert code_diff("same\n", "same\n", "x", "y") == []


def test_unsupported_verdict_is_shown_for_what_it_is(sandbox, tmp_path):
    spec = tmp_path / "point.toml"
    spec.write_text('name = "point"\ndescription = "Return a Point."\nentry_point = "make"\n'
                    'signature = "def make()"\n[tests]\nasserts = ["assert make() == 1"]\n')
    liar = "class Point:\n    def __eq__(self, other):\n        return True\n\ndef make():\n    return Point()\n"
    solve_task(load_spec(spec), ScriptedGenerator([liar]), sandbox, tmp_path / "run", samples=1, rounds=1)
    [cand] = load_run(tmp_path / "run").candidates
    assert cand.state == "unsupported" and "Point" in cand.note
    html = write_html(tmp_path / "run").read_text()
    assert 'data-state="unsupported"' in html and "Not judged: the tests need something" in html


def test_bench_page_data(bench_dir):
    page = load_bench(bench_dir)
    assert page.model_mode and [r.task_id for r in page.rows] == ["add_one", "add_two"]
    one, two = page.rows
    assert (one.solved_in_round, two.solved_in_round) == (0, 1) and one.round0 == "1/2"
    assert two.best_score.startswith("2/2 tests") and two.best_fraction == 1.0
    assert [a.arm for a in two.arms] == ["refinement", "resampling"]
    assert two.arms[1].solved is False and two.arms[1].run.state_counts["duplicate"] == 1
    # anchors stay unique across the tasks and arms of one page
    anchors = [c.anchor for row in page.rows for arm in row.arms for c in arm.run.candidates]
    assert len(anchors) == len(set(anchors)) == 12
    assert page.curve == [(0, 0.5, 0.5), (1, 1.0, 0.5)]


def test_bench_and_its_task_folders_get_report_html(bench_dir):
    html = (bench_dir / REPORT_HTML).read_text()
    assert html.count("<svg") == 1 and "pass@1 of the answer" in html  # the plot, inline
    assert 'href="#t1-add_two"' in html and '<details class="task" id="t1-add_two">' in html
    for task_dir in ("tasks/add_one", "tasks/add_two", "resample/tasks/add_two"):
        assert (bench_dir / task_dir / REPORT_HTML).is_file()
    # self-contained: nothing to fetch (no stylesheet or script files, no image sources, every link in the page)
    assert "<link" not in html and " src=" not in html and "@import" not in html
    references = re.findall(r'href="([^"]*)"', html) + re.findall(r"url\(([^)]*)\)", html)
    assert references and all(ref.startswith("#") for ref in references)


# ---------------------------------------------------------------- infinicode report


def report_cli(*args):
    from infinicode.cli import app

    return CliRunner().invoke(app, ["report", *map(str, args)])


def test_report_verb_rewrites_an_existing_folder(run_dir, bench_dir):
    (run_dir / REPORT_HTML).unlink()  # a folder from before report.html existed
    result = report_cli(run_dir)
    assert result.exit_code == 0 and result.stdout.strip() == str(run_dir / REPORT_HTML)
    assert FIX.strip() in (run_dir / REPORT_HTML).read_text()
    before = (bench_dir / REPORT_HTML).read_text()
    (bench_dir / REPORT_HTML).unlink()
    assert report_cli(bench_dir).exit_code == 0 and (bench_dir / REPORT_HTML).read_text() == before


def test_an_unfinished_run_is_shown_as_one(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    record = json.loads((copy / "run.json").read_text())
    (copy / "run.json").write_text(json.dumps({**record, "status": "running"}))
    assert report_cli(copy).exit_code == 0
    html = (copy / REPORT_HTML).read_text()
    assert "unfinished" in html and "This run has not finished" in html and 'id="r2c1"' in html


def test_report_verb_refuses_other_folders_in_one_line(tmp_path):
    result = report_cli(tmp_path)
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "neither run.json nor results.json" in result.stderr
    assert report_cli(tmp_path / "missing").exit_code == 2


# ---------------------------------------------------------------- in a real browser


def chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium not found: run scripts/bootstrap.sh (it installs Debian's chromium package)")
    # --no-sandbox: Chromium's own sandbox refuses to start as root (CI); the page is our own file
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={tmp}",
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


def test_run_page_in_chromium(run_dir, tmp_path):
    page = run_dir / REPORT_HTML
    dom = chromium("--dump-dom", page.as_uri(), tmp=tmp_path / "profile").stdout
    assert 'class="card accepted"' in dom and "Accepted solution" in dom
    assert dom.count('<details class="cand') == 6 and '<ul class="tree">' in dom
    assert '<span class="add">+    note = "&lt;/pre&gt;&lt;script&gt;' in dom  # the diff, as text
    assert dom.count("<script") == 1 and "data-pwned" not in dom  # the candidate's markup never ran
    assert 'data-state="duplicate"' in dom and "expected" in dom

    shot = tmp_path / "run.png"
    chromium(f"--screenshot={shot}", f"--window-size={SCREEN[0]},{SCREEN[1]}", page.as_uri(), tmp=tmp_path / "p2")
    check_screenshot(shot)


def test_bench_page_in_chromium_opens_a_task_from_its_anchor(bench_dir, tmp_path):
    page = bench_dir / REPORT_HTML
    dom = chromium("--dump-dom", page.as_uri() + "#t1-add_two", tmp=tmp_path / "profile").stdout
    assert "<svg" in dom and "</svg>" in dom and dom.count('class="plot"') == 1
    assert '<details class="task" id="t1-add_two" open="">' in dom  # the row's link opened its tree
    assert '<details class="task" id="t0-add_one">' in dom  # the others stay closed
    assert 'class="diff"' in dom

    shot = tmp_path / "bench.png"
    chromium(f"--screenshot={shot}", f"--window-size={SCREEN[0]},{SCREEN[1]}", page.as_uri(), tmp=tmp_path / "p2")
    check_screenshot(shot)


def check_screenshot(path: Path) -> None:
    """A PNG of the window's size, with a page on it (many colours; the solved badge's green among them)."""
    from PIL import Image

    image = Image.open(path)
    assert image.format == "PNG" and image.size == SCREEN
    colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert len(colours) > 100
    assert any(rgb == (0xDA, 0xFB, 0xE1) for _, rgb in colours)  # the green of "solved" / "passed"
