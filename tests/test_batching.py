"""Many prompts in one batch: the same candidates as alone, concurrent callers batched, early stops per row."""

from __future__ import annotations

import json
import threading

import pytest

from agent.errors import UserError
from agent.provider.batching import BatchingProvider
from agent.provider.hf import HFProvider
from agent.provider.hf_batch import PromptRows

SHORT = [{"role": "user", "content": "Write add(a, b)."}]
LONG = [{"role": "user", "content": "Write a Python function is_sorted(xs) that says whether the list xs is "
                                    "sorted in ascending order, and returns True or False."}]
THIRD = [{"role": "user", "content": "Write max_of(xs)."}]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return HFProvider.from_pretrained(str(tiny_model_dir), quantization="fp32", device="cpu")


def _texts(samples):
    return [(s.text, s.completion_tokens, s.finish_reason) for s in samples]


def test_prompts_sampled_together_give_the_candidates_each_gives_alone(tiny):
    alone = [tiny.sample(SHORT, n=3, temperature=1.0, max_new_tokens=16, seed=4),
             tiny.sample(LONG, n=2, temperature=1.0, max_new_tokens=16, seed=9)]
    together = tiny.sample_many([PromptRows(tiny.prepare(SHORT), 3, 4), PromptRows(tiny.prepare(LONG), 2, 9)],
                                temperature=1.0, max_new_tokens=16)
    assert [_texts(s) for s in together] == [_texts(s) for s in alone]
    assert len({s.text for s in together[0]}) > 1  # still sampled: candidates differ from each other
    # a row split after an out-of-memory, or a small max_batch, changes nothing either; nor does reading each
    # prompt once per row instead of once for all its rows, nor transformers' KV cache for ours
    tiny.max_batch, tiny.share_prefill, tiny.grow_cache_in_place = 2, False, False
    try:
        split = tiny.sample_many([PromptRows(tiny.prepare(SHORT), 3, 4), PromptRows(tiny.prepare(LONG), 2, 9)],
                                 temperature=1.0, max_new_tokens=16)
    finally:
        tiny.max_batch, tiny.share_prefill, tiny.grow_cache_in_place = None, True, True
    assert [_texts(s) for s in split] == [_texts(s) for s in alone]


def test_top_p_keeps_sampling_inside_the_nucleus(tiny):
    wide = tiny.sample(SHORT, n=6, temperature=1.0, top_p=1.0, max_new_tokens=8, seed=1)
    narrow = tiny.sample(SHORT, n=6, temperature=1.0, top_p=1e-6, max_new_tokens=8, seed=1)
    greedy = tiny.sample(SHORT, n=1, temperature=0, max_new_tokens=8)[0]
    assert len({s.text for s in wide}) > 1
    assert {s.text for s in narrow} == {greedy.text}  # only the most likely token survives top_p -> 0


def test_a_row_ends_where_its_stop_says_and_the_others_run_on(tiny):
    free = tiny.sample(SHORT, n=2, temperature=1.0, max_new_tokens=20, seed=3)
    # stop the first prompt's rows after their first character; THIRD's rows are not stopped
    rows = tiny.sample_many([PromptRows(tiny.prepare(SHORT), 2, 3, stop_when=lambda text: 1 if text else None),
                             PromptRows(tiny.prepare(THIRD), 2, 5)], temperature=1.0, max_new_tokens=20)
    for full, cut in zip(free, rows[0], strict=True):
        assert cut.text == full.text[:1] and cut.finish_reason == "stop"
        assert cut.completion_tokens <= full.completion_tokens
    assert rows[1] == tiny.sample(THIRD, n=2, temperature=1.0, max_new_tokens=20, seed=5)


def test_greedy_decoding_gives_what_transformers_generate_gives(tiny):
    import torch

    ids = tiny.prepare(LONG)
    with torch.no_grad():
        reference = tiny.model.generate(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids)),
                                        max_new_tokens=24, do_sample=False, temperature=None, top_p=None,
                                        top_k=None, pad_token_id=tiny.tokenizer.pad_token_id)[0, len(ids):].tolist()
    ends = tiny._eos_ids() | {tiny.tokenizer.pad_token_id}
    expected = reference[:next((i + 1 for i, t in enumerate(reference) if t in ends), len(reference))]
    # beside a longer prompt (left padding) and a shorter one, the row is the same
    requests = [PromptRows(tiny.prepare(SHORT), 1), PromptRows(ids, 1), PromptRows(tiny.prepare(THIRD), 1)]
    together = tiny.sample_many(requests, temperature=0, max_new_tokens=24)
    assert together[1][0].text == tiny.tokenizer.decode(expected, skip_special_tokens=True)
    assert together[1][0].completion_tokens == len(expected)


def test_a_row_that_ended_leaves_the_batch(tiny):
    """The rows still writing are the only ones the model computes: each step's batch shrinks as rows end."""
    sizes = []
    hook = tiny.base_model.get_input_embeddings().register_forward_hook(
        lambda module, args, output: sizes.append(args[0].shape[0]))
    try:
        rows = tiny.sample_many([PromptRows(tiny.prepare(SHORT), 3, 3), PromptRows(tiny.prepare(THIRD), 2, 5)],
                                temperature=1.0, max_new_tokens=20, stop=[" "])
    finally:
        hook.remove()
    samples = rows[0] + rows[1]
    assert {s.finish_reason for s in samples} >= {"stop"}
    decode_steps = sizes[1:]  # the first call reads the prompts
    assert decode_steps == sorted(decode_steps, reverse=True) and decode_steps[0] == 5 > decode_steps[-1]
    assert sum(decode_steps) == sum(s.completion_tokens for s in samples)  # no step computed an ended row


def test_concurrent_callers_share_generate_calls_and_get_their_own_candidates(tiny):
    shared = BatchingProvider(tiny, max_rows=64, gather_s=0.3)
    prompts = [(SHORT, 3, 4), (LONG, 2, 9), (THIRD, 2, 5), (SHORT, 2, 11)]
    expected = [tiny.sample(m, n=n, temperature=1.0, max_new_tokens=12, seed=s) for m, n, s in prompts]
    got: list = [None] * len(prompts)
    start = threading.Barrier(len(prompts))

    def call(i):
        messages, n, seed = prompts[i]
        start.wait()
        got[i] = shared.sample(messages, n=n, temperature=1.0, max_new_tokens=12, seed=seed)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [_texts(s) for s in got] == [_texts(s) for s in expected]
    assert sum(shared.batches) == 9 and len(shared.batches) < len(prompts)  # some calls were answered together
    assert shared.context_length == tiny.context_length and shared.info() == tiny.info()


def test_a_model_failure_reaches_every_caller_of_the_batch(tiny, monkeypatch):
    shared = BatchingProvider(tiny, gather_s=0.01)

    def broken(*args, **kwargs):
        raise RuntimeError("the model broke")

    monkeypatch.setattr(tiny.model, "forward", broken)
    with pytest.raises(RuntimeError, match="the model broke"):
        shared.sample(SHORT, n=2, max_new_tokens=4)


@pytest.mark.parametrize("first, joiner", [(LONG, SHORT), (SHORT, LONG)], ids=["joiner-shorter", "joiner-longer"])
def test_a_call_joins_the_running_batch_and_leaves_it_when_its_rows_end(tiny, first, joiner):
    """Continuous batching: a call that arrives while others are being decoded joins their batch between two
    steps, returns once its own rows have ended, and every caller still gets the candidates it gets alone."""
    expected_first = tiny.sample(first, n=3, temperature=1.0, max_new_tokens=30, min_new_tokens=30, seed=2)
    expected_joiner = tiny.sample(joiner, n=2, temperature=1.0, max_new_tokens=6, min_new_tokens=6, seed=7)
    shared = BatchingProvider(tiny, max_rows=8, gather_s=0.01)
    sizes, finished = [], []
    joiner_thread = threading.Thread(target=lambda: finished.append(
        ("joiner", shared.sample(joiner, n=2, temperature=1.0, max_new_tokens=6, min_new_tokens=6, seed=7))))

    def count(module, args, output):
        sizes.append(args[0].shape[0])
        if len(sizes) == 5:  # the first call's rows are a few tokens in
            joiner_thread.start()

    hook = tiny.base_model.get_input_embeddings().register_forward_hook(count)
    try:
        finished.append(("first", shared.sample(first, n=3, temperature=1.0, max_new_tokens=30, min_new_tokens=30,
                                                seed=2)))
        joiner_thread.join()
    finally:
        hook.remove()
    assert [name for name, _ in finished] == ["joiner", "first"]  # the joiner did not wait for the batch to end
    got = dict(finished)
    assert _texts(got["first"]) == _texts(expected_first) and _texts(got["joiner"]) == _texts(expected_joiner)
    assert shared.batches == [3, 2]
    assert 5 in sizes and sizes.count(5) >= 5  # the joiner's rows were decoded beside the first call's
    assert sizes[-1] == 3  # and left before them


def test_running_out_of_gpu_memory_starts_the_rows_again_in_a_smaller_batch(tiny, monkeypatch):
    import torch

    from agent.provider import hf_batch

    expected = tiny.sample(SHORT, n=5, temperature=1.0, max_new_tokens=8, seed=3)
    step = hf_batch.RunningBatch.step

    def step_with_small_memory(batch):
        if len(batch) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return step(batch)

    monkeypatch.setattr(hf_batch.RunningBatch, "step", step_with_small_memory)
    shared = BatchingProvider(tiny, max_rows=8, gather_s=0.01)
    assert _texts(shared.sample(SHORT, n=5, temperature=1.0, max_new_tokens=8, seed=3)) == _texts(expected)
    assert shared.max_rows == 2

    def step_without_memory(batch):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(hf_batch.RunningBatch, "step", step_without_memory)
    with pytest.raises(UserError, match="out of GPU memory"):
        shared.sample(SHORT, n=3, temperature=1.0, max_new_tokens=8, seed=3)


def test_prompts_that_share_a_prefix_read_it_once_and_give_the_candidates_each_gives_alone(tiny):
    """A task's refinement prompts start alike (instructions, task): that part is read once for all of them."""
    from agent.provider.prefill import MIN_SHARED_PREFIX

    task = "Write a Python function run_length(s) that encodes runs of equal characters as the character and count. "
    prompts = [[{"role": "user", "content": task * 3 + "Your code failed test_one."}],
               [{"role": "user", "content": task * 3 + "Your code raised an error in test_two and test_three."}]]
    ids = [tiny.prepare(messages) for messages in prompts]
    shared = next(i for i, (a, b) in enumerate(zip(*ids, strict=False)) if a != b)
    assert shared >= MIN_SHARED_PREFIX
    alone = [tiny.sample(prompts[0], n=2, temperature=1.0, max_new_tokens=12, seed=5),
             tiny.sample(prompts[1], n=3, temperature=1.0, max_new_tokens=12, seed=6)]
    shapes = []
    hook = tiny.base_model.get_input_embeddings().register_forward_hook(
        lambda module, args, output: shapes.append(tuple(args[0].shape)))
    try:
        together = tiny.sample_many([PromptRows(ids[0], 2, 5), PromptRows(ids[1], 3, 6)], temperature=1.0,
                                    max_new_tokens=12)
    finally:
        hook.remove()
    assert [_texts(s) for s in together] == [_texts(s) for s in alone]
    rest = max(len(x) for x in ids) - shared - 1
    assert shapes[:2] == [(1, shared), (2, rest)]  # the prefix once, then each prompt's own part once
    assert shapes[2] == (5, 1)  # then every row decodes


def test_a_round_sampled_at_once_gives_the_candidates_of_a_round_sampled_chunk_by_chunk(tiny, sandbox, tmp_path):
    """The loop hands an in-process model a round's refinement prompts in one batch: same candidates."""
    from pathlib import Path

    from agent.orchestrator import solve_task
    from agent.spec import load_spec

    class OneAtATime:  # the same model, without batches_prompts: the loop samples chunk by chunk
        def __init__(self, model):
            self.model, self.calls = model, 0
            self.name, self.context_length = model.name, model.context_length

        def sample(self, messages, n, **kwargs):
            self.calls += 1
            return self.model.sample(messages, n=n, **kwargs)

        def count_tokens(self, text):
            return self.model.count_tokens(text)

        def render(self, messages):
            return self.model.render(messages)

    task = load_spec(Path(__file__).resolve().parents[1] / "examples" / "add.toml")
    settings = {"samples": 4, "rounds": 2, "top_k": 2, "chunk_size": 2, "max_new_tokens": 24, "seed": 3}
    config = tiny.base_model.config
    config.max_position_embeddings, context = 2048, config.max_position_embeddings  # room for the feedback
    try:
        chunked = OneAtATime(tiny)
        solve_task(task, chunked, sandbox, tmp_path / "chunked", **settings)
        shared = BatchingProvider(tiny, gather_s=0.01)
        solve_task(task, shared, sandbox, tmp_path / "batched", **settings)
    finally:
        config.max_position_embeddings = context

    def candidates(folder):
        lines = (folder / "trajectory.jsonl").read_text().splitlines()
        return sorted((r["round"], r["index"], r["text"]) for r in map(json.loads, lines))

    assert chunked.calls == 2 + 2 and shared.batches == [4, 4]  # 2 chunks a round, or one batch a round
    assert candidates(tmp_path / "batched") == candidates(tmp_path / "chunked")
    assert any(r == 1 for r, _, _ in candidates(tmp_path / "batched"))  # the refinement round ran


def test_top_p_on_rows_whose_nucleus_is_wide_and_narrow_matches_a_full_sort():
    import torch

    from agent.provider.hf_batch import RowSampling

    generator = torch.Generator().manual_seed(0)
    peaked = torch.randn(5000, generator=generator) * 8  # a few tokens hold the mass: found in the top 1024
    flat = torch.randn(5000, generator=generator) * 0.1  # 95% of the mass needs most of the vocabulary
    scores = torch.stack([peaked, flat, peaked.flip(0)])
    sampler = RowSampling([1, 2, 3], temperature=1.0, top_p=0.95)
    got = sampler._nucleus(scores)

    ordered, order = torch.sort(scores, descending=True, dim=-1)  # the reference: every row fully sorted
    probs = (ordered - scores.logsumexp(dim=-1, keepdim=True)).exp()
    keep = (probs.cumsum(dim=-1) - probs) <= 0.95
    expected = torch.full_like(scores, float("-inf")).scatter(-1, order, ordered.masked_fill(~keep, float("-inf")))
    assert torch.equal(got, expected)
    kept = torch.isfinite(got).sum(dim=-1).tolist()
    assert kept[0] < 1024 < kept[1] and kept[2] == kept[0]


def test_a_decoding_step_writes_the_cache_in_place(tiny):
    """The KV cache keeps room to grow: steps write into it instead of copying it (kv_cache.RoomyLayer)."""
    from agent.provider.hf_batch import Row
    from agent.provider.kv_cache import RoomyLayer

    batch = tiny.running_batch(1.0, 0.95, [])
    batch.admit([Row(tiny.prepare(LONG), seed, 50) for seed in range(3)])
    layers = batch._cache.layers
    assert layers and all(isinstance(layer, RoomyLayer) for layer in layers)
    stores = [layer.store[0].data_ptr() for layer in layers]
    width = layers[0].keys.shape[2]
    for _ in range(5):
        batch.step()
    assert [layer.store[0].data_ptr() for layer in layers] == stores  # no step copied the cache
    assert layers[0].keys.shape[2] == width + 5 and layers[0].keys.data_ptr() == stores[0]


def test_every_in_process_entry_point_refuses_zero_candidates(tiny):
    messages = [{"role": "user", "content": "hi"}]
    shared = BatchingProvider(tiny, max_rows=4)
    calls = [lambda: tiny.sample(messages, n=0), lambda: tiny.sample_prompts([(messages, 0, 0, None)]),
             lambda: shared.sample(messages, n=0), lambda: shared.sample_prompts([(messages, 2, 0, None),
                                                                                  (messages, 0, 0, None)])]
    for call in calls:
        with pytest.raises(UserError, match="n must be at least 1"):
            call()


def test_cancel_ends_the_calls_waiting_on_the_model_and_every_later_one(tiny):
    """A run that stops (Ctrl-C, SIGTERM) does not wait for the candidates being written."""
    from agent.provider.batching import Cancelled

    shared = BatchingProvider(tiny, max_rows=4)
    steps = []
    hook = tiny.base_model.get_input_embeddings().register_forward_hook(lambda *args: steps.append(1))
    outcome: dict = {}

    def long_call():
        try:  # min_new_tokens keeps the end token away: left alone, this writes 4,000 tokens a row
            outcome["samples"] = shared.sample(SHORT, n=2, max_new_tokens=4000, min_new_tokens=4000, seed=1)
        except Cancelled as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=long_call)
    try:
        worker.start()
        while len(steps) < 5 and worker.is_alive():  # it is decoding
            threading.Event().wait(0.01)
        shared.cancel()
        worker.join(timeout=60)
    finally:
        hook.remove()
    assert not worker.is_alive() and "samples" not in outcome
    assert "cancelled" in str(outcome["error"])
    assert len(steps) < 1000  # stopped long before its 4,000 tokens
    with pytest.raises(Cancelled):
        shared.sample(SHORT, n=1, max_new_tokens=5)
