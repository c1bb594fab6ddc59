"""Options that take one of a few values: typer lists the values in --help and refuses any other with a usage
error (exit 2) before anything starts. Each set mirrors the one the library checks (tests/test_cli_choices.py)."""

from __future__ import annotations

from enum import StrEnum


class Quantization(StrEnum):
    nf4 = "nf4"  # 4-bit NormalFloat with double quantization (QLoRA when fine-tuning)
    bf16 = "bf16"
    fp32 = "fp32"


class Mode(StrEnum):
    refine = "refine"  # later rounds refine the best failing candidates from their feedback
    resample = "resample"  # later rounds sample the task prompt again: the baseline without feedback


class Baseline(StrEnum):
    resample = "resample"


class MbppSplit(StrEnum):
    test = "test"
    validation = "validation"
    train = "train"
    prompt = "prompt"
    nontest = "nontest"  # all but test
    all = "all"
