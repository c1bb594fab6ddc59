"""The model layer on a tiny random Llama (tests/model_fixtures.py): loading, NF4, adapters, sampling, errors."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
import torch

from agent.errors import UserError
from agent.extract import code_from_answer
from agent.provider.hf import HFProvider, load_base
from tests.model_fixtures import build_tiny_model, copy_without_chat_template

MESSAGES = [{"role": "user", "content": "Write a function add(a, b) that returns a + b."}]


@pytest.fixture(scope="module")
def nf4_model(tiny_model_dir):
    return HFProvider.from_pretrained(str(tiny_model_dir), quantization="nf4", device="cpu")


def _linear4bit_layers(model):
    import bitsandbytes as bnb

    return [module for module in model.modules() if isinstance(module, bnb.nn.Linear4bit)]


def _packed(layer) -> bool:
    return bool(getattr(layer.weight.quant_state, "packing_format_for_cpu", False))


# ---------------------------------------------------------------- loading and quantization


def test_nf4_load_quantizes_every_decoder_linear_with_double_quant(nf4_model):
    layers = _linear4bit_layers(nf4_model.model)
    assert len(layers) == 2 * 7  # q, k, v, o, gate, up, down in each of the 2 decoder layers
    for layer in layers:
        assert layer.weight.quant_state.quant_type == "nf4"
        assert layer.weight.quant_state.nested  # double quantization: the absmax statistics are quantized too
        assert layer.support_avx512bf16_for_cpu is False  # the CPU trap is handled at load time
    info = nf4_model.info()
    assert info["quantization"].startswith("nf4")
    assert info["device"] == "cpu" and info["adapter"] is None and info["chat_template"] is True


def test_parameter_count_is_the_same_in_every_precision(tiny_model_dir, nf4_model):
    fp32 = HFProvider.from_pretrained(str(tiny_model_dir), quantization="fp32", device="cpu")
    bf16 = HFProvider.from_pretrained(str(tiny_model_dir), quantization="bf16", device="cpu")
    assert not _linear4bit_layers(fp32.model) and not _linear4bit_layers(bf16.model)
    assert fp32.model.dtype == torch.float32 and bf16.model.dtype == torch.bfloat16
    expected = sum(p.numel() for p in fp32.model.parameters())
    assert fp32.info()["parameters"] == bf16.info()["parameters"] == nf4_model.info()["parameters"] == expected


def test_missing_local_path_is_one_clear_line(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        HFProvider.from_pretrained(str(tmp_path / "no-such-model"))
    with pytest.raises(UserError, match="does not exist"):
        HFProvider.from_pretrained(str(tmp_path / "model.gguf"))
    with pytest.raises(UserError, match="no config.json"):
        HFProvider.from_pretrained(str(tmp_path))


def test_unknown_hub_id_offline_is_one_clear_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="HF_HUB_OFFLINE") as caught:
        HFProvider.from_pretrained("infinicode-tests/no-such-model")
    assert "\n" not in str(caught.value)


def test_unknown_hub_id_online_is_one_clear_line(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    # Either the hub says it does not exist, or (as on machines without a network) it cannot be reached.
    with pytest.raises(UserError, match="unknown model id|cannot reach the Hugging Face Hub") as caught:
        HFProvider.from_pretrained("infinicode-tests/no-such-model-7f3a")
    assert "\n" not in str(caught.value)


def test_missing_bitsandbytes_is_one_clear_line(tiny_model_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # what `import bitsandbytes` sees when not installed
    with pytest.raises(UserError, match="bitsandbytes"):
        load_base(str(tiny_model_dir), quantization="nf4", device="cpu")


def test_unknown_quantization_and_device(tiny_model_dir):
    with pytest.raises(UserError, match="quantization"):
        load_base(str(tiny_model_dir), quantization="int3", device="cpu")
    with pytest.raises(UserError, match="device"):
        load_base(str(tiny_model_dir), quantization="fp32", device="tpu")


# ---------------------------------------------------------------- the CPU bitsandbytes trap


def _lora(model):
    from peft import LoraConfig, get_peft_model

    return get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                            lora_dropout=0.0, task_type="CAUSAL_LM"))


def _train_step(model, tokenizer, optimizer):
    model.train()
    batch = tokenizer(["def add(a, b):\n    return a + b\n", "def sub(a, b):\n    return a - b\n"],
                      return_tensors="pt", padding=True)
    loss = model(**batch, labels=batch["input_ids"]).loss
    optimizer.zero_grad()
    loss.backward()
    grads = {name: (None if p.grad is None else p.grad.detach().abs().sum().item())
             for name, p in model.named_parameters() if "lora_B" in name}
    optimizer.step()
    model.eval()
    return grads


def _generate(model, tokenizer):
    prompt = tokenizer("def add(a, b):", return_tensors="pt")
    with torch.no_grad():
        return model.generate(**prompt, max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.pad_token_id)


def test_lora_trains_on_4bit_after_generating(tiny_model_dir):
    """generate -> train -> generate -> train on an NF4 model: LoRA weights get gradients and change each time."""
    model, tokenizer = load_base(str(tiny_model_dir), quantization="nf4", device="cpu")
    _generate(model, tokenizer)  # the no-grad eval forward that would repack the weights
    assert not any(_packed(layer) for layer in _linear4bit_layers(model))
    model = _lora(model)
    lora = {name: p.detach().clone() for name, p in model.named_parameters() if "lora_" in name}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)

    grads = _train_step(model, tokenizer, optimizer)
    assert len(grads) == 4 and all(g is not None and g > 0 for g in grads.values()), grads
    changed = {name for name, p in model.named_parameters() if "lora_B" in name and not torch.equal(p, lora[name])}
    assert len(changed) == 4

    _generate(model, tokenizer)
    grads = _train_step(model, tokenizer, optimizer)
    assert all(g is not None and g > 0 for g in grads.values()), grads
    changed = {name for name, p in model.named_parameters() if "lora_" in name and not torch.equal(p, lora[name])}
    assert len(changed) == 8  # now lora_A moved too (its gradient is zero only while lora_B is all zeros)


def test_tiny_model_reaches_the_trap_code_path_without_the_fix(tiny_model_dir):
    """Control for the test above: loaded the plain transformers way, the same cycle loses the LoRA gradients.

    This proves the tiny fixture exercises bitsandbytes' CPU repacking, so the test above can fail."""
    import bitsandbytes.functional as bnb_functional
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    if not bnb_functional.has_avx512bf16():
        pytest.skip("this CPU has no AVX512-BF16: bitsandbytes never repacks weights here")
    quantization = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                      bnb_4bit_compute_dtype=torch.bfloat16)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, quantization_config=quantization,
                                                 dtype=torch.bfloat16, device_map={"": "cpu"}).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    _generate(model, tokenizer)
    assert all(_packed(layer) for layer in _linear4bit_layers(model))
    model = _lora(model)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    with pytest.warns(UserWarning):  # bitsandbytes: "... autograd kernel was not registered"
        grads = _train_step(model, tokenizer, optimizer)
    assert all(g is None or g == 0 for g in grads.values()), grads


def test_sampling_unpacks_4bit_weights_once_with_the_same_logits(tiny_model_dir, monkeypatch):
    """No-grad forwards reuse each layer's unpacked weight instead of unpacking it every step, bit for bit the
    numbers of the 4-bit kernel; forwards with gradients (training) still go through bitsandbytes."""
    import bitsandbytes as bnb

    from agent.provider.cpu_4bit import keep_unpacked_weights

    model, tokenizer = load_base(str(tiny_model_dir), quantization="nf4", device="cpu")
    kernel_calls = []
    original = bnb.matmul_4bit
    monkeypatch.setattr(bnb, "matmul_4bit", lambda *a, **k: kernel_calls.append(1) or original(*a, **k))
    ids = tokenizer(["def add(a, b):\n    return"], return_tensors="pt").input_ids
    with torch.no_grad():
        unpacked = [model(input_ids=ids).logits, model(input_ids=ids[:, :1]).logits]
    assert kernel_calls == []
    packed = [model(input_ids=ids).logits.detach(), model(input_ids=ids[:, :1]).logits.detach()]
    assert len(kernel_calls) == 2 * len(_linear4bit_layers(model))
    assert all(torch.equal(a, b) for a, b in zip(unpacked, packed, strict=True))
    # a machine whose memory cannot hold the unpacked copies keeps them packed
    other, _ = load_base(str(tiny_model_dir), quantization="fp32", device="cpu")
    assert keep_unpacked_weights(model, share=0.0) == 0 and keep_unpacked_weights(other) == 0


# ---------------------------------------------------------------- sampling


def test_sample_returns_n_candidates_with_token_counts(nf4_model):
    samples = nf4_model.sample(MESSAGES, n=5, temperature=1.0, max_new_tokens=12, seed=3)
    assert len(samples) == 5
    prompt_tokens = nf4_model.count_tokens(nf4_model.render(MESSAGES))
    for sample in samples:
        assert sample.prompt_tokens == prompt_tokens
        assert 1 <= sample.completion_tokens <= 12
        if sample.finish_reason == "length":
            assert sample.completion_tokens == 12
    assert len({s.text for s in samples}) > 1  # sampled, not copies


def test_same_seed_same_candidates_other_seed_others(nf4_model):
    first = nf4_model.sample(MESSAGES, n=4, temperature=1.0, max_new_tokens=10, seed=7)
    again = nf4_model.sample(MESSAGES, n=4, temperature=1.0, max_new_tokens=10, seed=7)
    other = nf4_model.sample(MESSAGES, n=4, temperature=1.0, max_new_tokens=10, seed=8)
    assert [s.text for s in first] == [s.text for s in again]
    assert [s.text for s in first] != [s.text for s in other]


def test_sampling_does_not_disturb_the_global_random_state(nf4_model):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    nf4_model.sample(MESSAGES, n=2, max_new_tokens=4, seed=1)
    assert torch.equal(torch.rand(3), expected)


def test_greedy_gives_identical_candidates(nf4_model):
    samples = nf4_model.sample(MESSAGES, n=3, temperature=0, max_new_tokens=8)
    assert len({s.text for s in samples}) == 1 and len(samples) == 3


def test_stop_strings_cut_the_text_and_end_generation_early(nf4_model):
    free = nf4_model.sample(MESSAGES, n=4, temperature=1.0, max_new_tokens=40, seed=11)
    # Stop at characters these candidates write early, so every sequence stops long before max_new_tokens.
    stops = ["e", "t", " "]
    stopped = nf4_model.sample(MESSAGES, n=4, temperature=1.0, max_new_tokens=40, seed=11, stop=stops)
    for full, cut in zip(free, stopped, strict=True):
        first = min(full.text.find(s) for s in stops if s in full.text)
        assert cut.text == full.text[:first]  # same tokens up to the stop, nothing after it
        assert cut.finish_reason == "stop"
        assert cut.completion_tokens < full.completion_tokens
        assert not any(s in cut.text for s in stops)


def test_oom_retries_with_half_the_batch(nf4_model, monkeypatch):
    from agent.provider import hf_batch

    original = hf_batch.generate_rows
    sizes = []

    def generate_with_small_memory(model, tokenizer, rows, **kwargs):
        sizes.append(len(rows))
        if len(rows) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return original(model, tokenizer, rows, **kwargs)

    monkeypatch.setattr(hf_batch, "generate_rows", generate_with_small_memory)
    samples = nf4_model.sample(MESSAGES, n=5, temperature=1.0, max_new_tokens=6, seed=0)
    assert len(samples) == 5 and sizes == [5, 2, 2, 1]

    def generate_without_memory(model, tokenizer, rows, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(hf_batch, "generate_rows", generate_without_memory)
    with pytest.raises(UserError, match="out of GPU memory"):
        nf4_model.sample(MESSAGES, n=1, max_new_tokens=6)


def test_prompt_longer_than_the_context_is_one_clear_line(nf4_model):
    long = [{"role": "user", "content": "def f(x):\n    return x\n" * 200}]
    with pytest.raises(UserError, match="reads at most 256"):
        nf4_model.sample(long, n=1, max_new_tokens=4)


def test_completion_prompt_without_chat_template(tiny_model_dir, tmp_path):
    plain = HFProvider.from_pretrained(str(copy_without_chat_template(tiny_model_dir, tmp_path / "tiny-plain")),
                                      quantization="bf16", device="cpu")
    assert not plain.has_chat_template
    messages = [{"role": "user", "content": "Add two numbers."},
                {"role": "assistant", "content": "def add(a, b):\n    return"}]
    assert plain.render(messages) == "Add two numbers.\n\ndef add(a, b):\n    return"
    assert plain.render(MESSAGES) == MESSAGES[0]["content"] + "\n"
    sample = plain.sample(messages, n=1, temperature=0, max_new_tokens=6)[0]
    assert not sample.text.startswith("def add")  # the text is the continuation only...
    # ...and the loop's extraction puts the prefix it continued in front
    assert code_from_answer(sample.text, messages).startswith("def add(a, b):")


def test_chat_template_continues_a_final_assistant_message(nf4_model):
    messages = MESSAGES + [{"role": "assistant", "content": "```python\ndef add(a, b):\n"}]
    rendered = nf4_model.render(messages)
    assert rendered.endswith("<|im_start|>assistant\n```python\ndef add(a, b):\n")


# ---------------------------------------------------------------- adapters


def _save_adapter(base_dir, out_dir, seed):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    # Random (not zero) lora_B, so the adapter visibly changes the model's outputs.
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj", "down_proj"],
                                            init_lora_weights=False, task_type="CAUSAL_LM"))
    model.save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="module")
def adapters(tiny_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters")
    return _save_adapter(tiny_model_dir, root / "adapter-a", 1), _save_adapter(tiny_model_dir, root / "adapter-b", 2)


def _logits(code_model):
    ids = code_model.tokenizer("def add(a, b):\n    return", return_tensors="pt")
    with torch.no_grad():
        return code_model.model(**ids).logits.float()


def test_adapters_load_switch_and_turn_off_without_reloading_the_base(tiny_model_dir, adapters):
    adapter_a, adapter_b = adapters
    model = HFProvider.from_pretrained(str(tiny_model_dir), quantization="nf4", device="cpu")
    base_module = model.base_model
    plain = _logits(model)

    model.load_adapter(adapter_a)
    with_a = _logits(model)
    assert model.info()["adapter"] == str(adapter_a) and model.info()["adapter_parameters"] > 0
    assert not torch.allclose(with_a, plain, atol=1e-3)

    model.load_adapter(adapter_b)
    with_b = _logits(model)
    assert model.adapter == str(adapter_b)
    assert not torch.allclose(with_b, with_a, atol=1e-3)

    model.set_adapter(adapter_a)  # switch back by folder
    assert torch.allclose(_logits(model), with_a)
    model.set_adapter(None)
    assert model.adapter is None and torch.allclose(_logits(model), plain)
    assert model.base_model is base_module and len(model.adapters) == 2

    samples = model.sample(MESSAGES, n=2, max_new_tokens=4, seed=0)  # sampling still works with adapters loaded
    assert len(samples) == 2


def test_adapter_given_at_load_time(tiny_model_dir, adapters):
    model = HFProvider.from_pretrained(str(tiny_model_dir), adapter=str(adapters[0]), quantization="nf4",
                                      device="cpu")
    assert model.adapter == str(adapters[0])


def test_adapter_for_another_base_is_refused(tiny_model_dir, tmp_path, nf4_model):
    wide = build_tiny_model(tmp_path / "tiny-llama-wide", hidden_size=96)
    foreign = _save_adapter(wide, tmp_path / "adapter-wide", 3)
    with pytest.raises(UserError, match="trained on .*tiny-llama-wide"):
        nf4_model.load_adapter(foreign)

    # Same recorded base name but shapes made for the wide model: the shape check catches it.
    relabelled = tmp_path / "adapter-relabelled"
    shutil.copytree(foreign, relabelled)
    config = json.loads((relabelled / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = str(tiny_model_dir)
    (relabelled / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match="does not fit"):
        nf4_model.load_adapter(relabelled)
    assert nf4_model.adapter is None and not nf4_model.adapters


def test_missing_or_broken_adapter_folder(nf4_model, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        nf4_model.load_adapter(tmp_path / "nope")
    with pytest.raises(UserError, match="adapter_config.json"):
        nf4_model.load_adapter(tmp_path)


# ---------------------------------------------------------------- the `model info` command


def _cli():
    import typer

    from infinicode import cli_model

    app = typer.Typer()

    @app.callback()
    def root():
        """Test root so `model` stays a sub-command."""

    cli_model.register(app)
    return app


def test_model_info_command(tiny_model_dir, adapters):
    from typer.testing import CliRunner

    result = CliRunner().invoke(_cli(), ["model", "info", "--model", str(tiny_model_dir), "--quantization", "nf4",
                                         "--adapter", str(adapters[0]), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["quantization"].startswith("nf4") and info["device"] == "cpu"
    assert info["adapter"] == str(adapters[0]) and info["parameters"] > 100_000
    assert info["unpacked_for_sampling"] is True

    table = CliRunner().invoke(_cli(), ["model", "info", "--model", str(tiny_model_dir), "--quantization", "bf16"])
    assert table.exit_code == 0, table.output
    assert "bf16" in table.stdout and "parameters" in table.stdout.lower() and "unpacked" not in table.stdout


def test_model_info_command_bad_model_raises_user_error(tmp_path):
    from typer.testing import CliRunner

    result = CliRunner().invoke(_cli(), ["model", "info", "--model", str(tmp_path / "missing")])
    assert isinstance(result.exception, UserError)
