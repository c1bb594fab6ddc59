"""Options with a closed set of values are typer enums: --help lists them, anything else is a usage error (exit 2)
before a model or the sandbox starts, and each set is the one the library accepts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from agent.orchestrator import MODES
from agent.provider.hf import QUANTIZATIONS
from benchmarks.run_bench import BASELINES
from benchmarks.suites import MBPP_SPLIT_CHOICES
from infinicode.choices import Baseline, MbppSplit, Mode, Quantization
from infinicode.cli import app


def test_each_choice_is_the_set_the_library_accepts():
    assert [q.value for q in Quantization] == list(QUANTIZATIONS)
    assert [m.value for m in Mode] == list(MODES)
    assert [b.value for b in Baseline] == list(BASELINES)
    assert sorted(s.value for s in MbppSplit) == sorted(MBPP_SPLIT_CHOICES)


@pytest.mark.parametrize("args, option", [
    (["solve", "examples/add.toml", "--mode", "greedy"], "--mode"),
    (["solve", "examples/add.toml", "--quantization", "int8"], "--quantization"),
    (["bench", "humaneval", "--baseline", "greedy"], "--baseline"),
    (["bench", "mbpp", "--split", "dev"], "--split"),
    (["finetune", "runs", "--out", "adapter", "--quantization", "q4"], "--quantization"),
    (["improve", "--train", "mbpp:train", "--eval", "mbpp:test", "--quantization", "q4"], "--quantization"),
    (["model", "info", "--quantization", "q4"], "--quantization"),
])
def test_a_value_outside_the_choices_is_a_usage_error(args, option):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output, result.output


def test_help_lists_the_choices():
    result = CliRunner().invoke(app, ["solve", "--help"], terminal_width=200)
    assert "refine" in result.output and "resample" in result.output and "nf4" in result.output
