"""The OpenAI-compatible backend against a real server: `transformers serve` with the embedded model, started by
this test session (tests/server_fixtures.py). No mocks: every request crosses HTTP to the real server.

`transformers serve` ignores `n` and answers one choice, so it also exercises the concurrent fallback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.errors import UserError
from agent.provider import make_provider
from agent.provider.openai_compat import OpenAICompatProvider
from tests.server_fixtures import free_port, model_server  # noqa: F401  (the session's server)

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
MESSAGES = [{"role": "user", "content": "Write a Python function add(a, b) that returns the sum of a and b."}]
OPEN = [{"role": "user", "content": "Tell me a very short story about a cat."}]  # many likely answers


@pytest.fixture(scope="module")
def provider(model_server):  # noqa: F811
    made = make_provider(model=model_server.model, server=[model_server.url])
    yield made
    made.close()


def _cli(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return subprocess.run([sys.executable, "-m", "infinicode.cli", *args], cwd=REPO, capture_output=True, text=True,
                          env={**environment, **(env or {})}, timeout=timeout)


def _error_line(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.startswith("infinicode: error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


# ---------------------------------------------------------------- sampling


def test_n_candidates_with_token_counts_through_the_concurrent_fallback(provider):
    samples = provider.sample(OPEN, n=3, temperature=1.0, max_new_tokens=8, seed=5)
    assert len(samples) == 3
    assert provider.honours_n is False  # the server answered one choice for n=3: one request per candidate now
    expected_prompt = provider.count_tokens(provider.render(OPEN))  # the local tokenizer and chat template
    for sample in samples:
        assert sample.prompt_tokens == expected_prompt  # the server's usage, equal to what we count here
        assert 1 <= sample.completion_tokens <= 8
        if sample.finish_reason == "length":
            assert sample.completion_tokens == 8
    # seeds seed, seed+1, seed+2: different candidates (transformers serve sets one global torch seed per
    # request, so concurrent requests do not reproduce exactly; vLLM's per-request seeds do)
    assert len({s.text for s in samples}) > 1


def test_stop_strings_cut_the_text_and_end_the_completion(provider):
    free = provider.sample(MESSAGES, n=1, temperature=0, max_new_tokens=12)[0]
    assert "\n" in free.text  # the model writes more than one line here...
    stopped = provider.sample(MESSAGES, n=2, temperature=0, max_new_tokens=12, stop=["\n"])
    assert len(stopped) == 2 and stopped[0].text == stopped[1].text  # greedy: one answer, copied
    assert stopped[0].text == free.text[:free.text.index("\n")]  # ...and stops at the first newline
    assert stopped[0].finish_reason == "stop" and stopped[0].completion_tokens < free.completion_tokens


def test_plain_completions_api(model_server):  # noqa: F811
    plain = make_provider(model=model_server.model, server=model_server.url, api="completions")
    sample = plain.sample([{"role": "user", "content": "def add(a, b):\n"}], n=1, temperature=0, max_new_tokens=8)[0]
    assert plain.info()["api"] == "completions" and sample.text and sample.completion_tokens <= 8
    assert sample.prompt_tokens == plain.count_tokens(plain.render([{"role": "user", "content": "def add(a, b):\n"}]))


def test_replicas_take_requests_in_turn_and_a_dead_one_is_skipped(model_server):  # noqa: F811
    # Two names for the same server are two base URLs to the client.
    both = make_provider(model=model_server.model, server=[model_server.url,
                                                           model_server.url.replace("127.0.0.1", "localhost")])
    both.sample(MESSAGES, n=2, temperature=1.0, max_new_tokens=2, seed=0)
    assert sorted(both.answered.values()) == [1, 1] and len(both.answered) == 2

    dead = f"http://127.0.0.1:{free_port()}/v1"
    mixed = OpenAICompatProvider([model_server.url, dead], model=model_server.model, max_retries=1)
    samples = mixed.sample(MESSAGES, n=2, temperature=1.0, max_new_tokens=2, seed=0)
    assert len(samples) == 2 and mixed.answered[model_server.url] == 2 and mixed.failed[dead] >= 1


# ---------------------------------------------------------------- errors


def test_wrong_url_model_or_path_is_one_clear_line(model_server):  # noqa: F811
    dead = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(UserError, match="cannot reach the model server at " + dead) as caught:
        make_provider(model="m", server=dead, max_retries=1)
    assert "\n" not in str(caught.value)
    wrong_model = make_provider(model="no-such-model", server=model_server.url)
    with pytest.raises(UserError, match="does not serve model 'no-such-model'") as caught:
        wrong_model.sample(MESSAGES, n=1, max_new_tokens=2)
    assert "\n" not in str(caught.value)
    no_v1 = make_provider(model=model_server.model, server=model_server.url[: -len("/v1")])
    with pytest.raises(UserError, match="no OpenAI chat endpoint .404.; --server must be the API base"):
        no_v1.sample(MESSAGES, n=1, max_new_tokens=2)
    with pytest.raises(UserError, match="is not an http"):
        make_provider(server="localhost:8000")


def test_solve_with_a_server_that_is_down_exits_2_with_one_line(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    proc = _cli("solve", str(EXAMPLES / "add.toml"), "--server", dead, "--model", "m", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert _error_line(proc).startswith(f"infinicode: error: cannot reach the model server at {dead}")


def test_server_without_runtime_lora_loading_is_one_clear_line(provider, tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    with pytest.raises(UserError, match="cannot load LoRA adapters at run time .POST /v1/load_lora_adapter "
                                        "answered 404.; serve the adapter from the start .vLLM: --enable-lora"):
        provider.load_adapter(adapter)
    assert provider.model == provider.base_model and provider.adapter is None  # still sampling from the base


def test_token_counting_falls_back_to_an_estimate_that_errs_long(model_server, provider):  # noqa: F811
    no_tokenizer = make_provider(model=model_server.model, server=model_server.url, tokenizer="/no/such/tokenizer")
    code = (EXAMPLES / "lru_cache.toml").read_text()
    estimated, exact = no_tokenizer.count_tokens(code), provider.count_tokens(code)
    assert no_tokenizer.token_counting.startswith("estimate")  # transformers serve has no tokenize endpoint
    assert exact <= estimated <= 2 * exact


def test_refinement_prompts_fit_the_context_by_local_tokenizer_or_estimate(model_server):  # noqa: F811
    from agent.feedback import SAFETY_TOKENS, build_refinement
    from agent.spec import load_spec
    from tests.test_feedback import BROKEN, _busy_result

    task = load_spec(EXAMPLES / "run_length.toml")
    for tokenizer in (None, "/no/such/tokenizer"):  # the model's own tokenizer (local files), then the estimate
        small = make_provider(model=model_server.model, server=model_server.url, context_length=600,
                              tokenizer=tokenizer)
        prompt = build_refinement(task, BROKEN, _busy_result(), small, max_new_tokens=100)
        assert prompt.dropped and prompt.prompt_tokens <= 600 - 100 - SAFETY_TOKENS  # evidence was cut to fit
        sample = small.sample(prompt.messages, n=1, temperature=0, max_new_tokens=2)[0]
        assert sample.prompt_tokens <= 600 - 100  # what the server counted: it fits
    with pytest.raises(UserError, match="reads at most 600"):
        small.sample([{"role": "user", "content": "x " * 2000}], n=1, max_new_tokens=2)


# ---------------------------------------------------------------- solve, bench, improve through the server


@pytest.mark.slow
def test_server_killed_mid_solve_loses_nothing_and_a_rerun_resumes(model_server, tmp_path):  # noqa: F811
    out = tmp_path / "run"
    args = ["solve", str(EXAMPLES / "lru_cache.toml"), "--server", model_server.url, "--model", model_server.model,
            "--samples", "1", "--rounds", "2", "--max-new-tokens", "24", "--out", str(out)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    proc = subprocess.Popen([sys.executable, "-m", "infinicode.cli", *args], cwd=REPO, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    trajectory = out / "trajectory.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if trajectory.exists() and trajectory.read_text().count("\n") >= 1:
            break  # round 0 is judged; round 1 is being sampled
        time.sleep(0.2)
    model_server.stop()
    try:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 2, stderr
        assert _error_line(subprocess.CompletedProcess(args, 2, stdout, stderr)).startswith(
            f"infinicode: error: cannot reach the model server at {model_server.url}")
        before = [json.loads(line) for line in trajectory.read_text().splitlines()]
        assert len(before) == 1 and before[0]["round"] == 0 and before[0]["result"]  # the judged one is kept
        assert json.loads((out / "run.json").read_text())["status"] == "running"
    finally:
        model_server.start()
    rerun = _cli(*args, timeout=600)
    assert rerun.returncode in (0, 1), rerun.stderr
    after = [json.loads(line) for line in trajectory.read_text().splitlines()]
    assert after[: len(before)] == before  # nothing of the first session was redone or changed
    assert len(after) > len(before) and json.loads((out / "run.json").read_text())["status"] == "done"


@pytest.mark.slow
def test_bench_through_the_server(model_server, tmp_path):  # noqa: F811
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(EXAMPLES / "add.toml", suite)
    proc = _cli("bench", str(suite), "--server", model_server.url, "--model", model_server.model, "--samples", "2",
                "--rounds", "1", "--max-new-tokens", "24", "--out", str(tmp_path / "bench"), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["tasks"] == 1 and summary["n_per_task"] == 2 and summary["tokens"] > 0
    results = json.loads((tmp_path / "bench" / "results.json").read_text())
    assert results["model"] == model_server.model
    assert len((tmp_path / "bench" / "samples.jsonl").read_text().splitlines()) == 2


@pytest.mark.slow
def test_improve_through_the_server(model_server, tmp_path):  # noqa: F811
    train, held_out = tmp_path / "train", tmp_path / "eval"
    train.mkdir()
    held_out.mkdir()
    shutil.copy(EXAMPLES / "lru_cache.toml", train)  # beyond a 135M model: nothing to train on
    shutil.copy(EXAMPLES / "add.toml", held_out)
    proc = _cli("improve", "--train", str(train), "--eval", str(held_out), "--rounds", "1", "--samples", "1",
                "--solve-rounds", "1", "--max-new-tokens", "24", "--server", model_server.url, "--model",
                model_server.model, "--out", str(tmp_path / "improve"))
    assert proc.returncode == 0, proc.stderr
    state = json.loads((tmp_path / "improve" / "improve.json").read_text())
    round0 = state["rounds"][0]
    assert round0["done"] and round0["eval_counts"]["add"][0] == 1 and round0["train_tasks"] == 1
    assert state["settings"]["server"] == [model_server.url]
    assert "no accepted solutions to train on" in proc.stderr
