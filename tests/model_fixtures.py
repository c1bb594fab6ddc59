"""Model fixtures, re-exported by tests/conftest.py.

`tiny_model_dir`: a tiny random Llama built from a config, with a real byte-level BPE tokenizer trained here on
Python source from the standard library (no download) and a ChatML chat template. Its layer sizes are multiples of
32, so bitsandbytes' CPU weight packing (the trap in PLATFORM.md) applies to it as to real models.
`embedded_model`: the real embedded SmolLM2-135M-Instruct in NF4 on CPU (slow tests only).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] }}"
    "{% if not (loop.last and continue_final_message) %}{{ '<|im_end|>\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def _python_corpus() -> list[str]:
    """Deterministic Python text for training the tokenizer: a few standard-library modules."""
    import bisect
    import heapq
    import inspect
    import string
    import textwrap

    return [inspect.getsource(module) for module in (textwrap, string, heapq, bisect)]


def build_tokenizer(vocab_size: int = 512):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(_python_corpus(), trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                        unk_token="<|endoftext|>", pad_token="<|im_end|>")
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def build_tiny_model(folder: Path, hidden_size: int = 64, seed: int = 0, chat_template: bool = True) -> Path:
    """Save a tiny random LlamaForCausalLM (fp32) and its tokenizer to `folder`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer()
    if not chat_template:
        tokenizer.chat_template = None
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=hidden_size // 2, max_position_embeddings=256,
        tie_word_embeddings=False, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    if not chat_template:
        _drop_chat_template(folder)
    return folder


def _drop_chat_template(folder: Path) -> None:
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    config_file = folder / "tokenizer_config.json"
    config = json.loads(config_file.read_text())
    config.pop("chat_template", None)
    config_file.write_text(json.dumps(config, indent=2))


def copy_without_chat_template(source: Path, folder: Path) -> Path:
    shutil.copytree(source, folder)
    _drop_chat_template(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-llama")


@pytest.fixture(scope="session")
def embedded_model():
    from agent.provider.hf import HFProvider

    return HFProvider.from_pretrained(None, quantization="nf4", device="cpu")
