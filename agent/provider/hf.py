"""The in-process model: a causal LM (4-bit NF4 by default) with LoRA adapters, sampling n candidates at once.

    m = HFProvider.from_pretrained(model=None, adapter=None, quantization="nf4", device=None)
    samples = m.sample(messages, n=4, temperature=0.8, top_p=0.95, max_new_tokens=384, stop=None, seed=0)

`model` is a Hugging Face id, a local folder or a .gguf file; None is the embedded SmolLM2-135M-Instruct.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import UserError
from agent.provider.base import Provider
from agent.provider.cpu_4bit import (
    compute_dtype,
    disable_cpu_weight_packing,
    half_dtype,
    import_bitsandbytes,
    keep_unpacked_weights,
)
from agent.provider.hf_sampling import Sampling

QUANTIZATIONS = ("nf4", "bf16", "fp32")


@dataclass
class ModelSource:
    """Where the weights come from: `path` is what from_pretrained gets, `name` is what people call it."""

    path: str
    name: str
    kind: str  # "embedded" | "local" | "gguf" | "hub"
    local_files_only: bool = False


# ---------------------------------------------------------------- resolving --model


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def resolve_model(model: str | os.PathLike | None) -> ModelSource:
    """Turn --model into something from_pretrained can load, with one clear line when it cannot be."""
    from agent import model_store

    if model is None:
        path = model_store.ensure_default_model()
        return ModelSource(str(path), model_store.DEFAULT_MODEL_NAME, "embedded", local_files_only=True)
    text = str(model)
    path = Path(text).expanduser()
    if path.exists():
        if path.is_dir():
            if not (path / "config.json").is_file():
                raise UserError(f"{path} has no config.json, so it is not a Hugging Face model folder; "
                                "pass a folder saved with save_pretrained, a .gguf file or a hub id")
            return ModelSource(str(path.resolve()), path.resolve().name, "local", local_files_only=True)
        if path.suffix.lower() == ".gguf":
            converted = model_store.ensure_converted_gguf(path)
            return ModelSource(str(converted), path.stem, "gguf", local_files_only=True)
        raise UserError(f"{path} is a file but not a .gguf; pass a model folder, a .gguf file or a hub id")
    looks_like_path = (text.startswith(("/", "./", "../", "~", ".\\")) or text.lower().endswith(".gguf")
                       or text.count("/") > 1 or "\\" in text)
    if looks_like_path or not _HUB_ID.match(text):
        raise UserError(f"model path {text} does not exist; pass an existing folder or .gguf file, or a hub id "
                        "such as Qwen/Qwen2.5-Coder-1.5B-Instruct")
    return _resolve_hub_id(text)


def _hub_offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE", os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _resolve_hub_id(repo_id: str) -> ModelSource:
    import huggingface_hub

    cached = huggingface_hub.try_to_load_from_cache(repo_id, "config.json")
    if isinstance(cached, str):
        return ModelSource(repo_id, repo_id, "hub", local_files_only=_hub_offline())
    if _hub_offline():
        raise UserError(f"model {repo_id} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set; "
                        "unset HF_HUB_OFFLINE to download it, or pass a local folder")
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        huggingface_hub.model_info(repo_id, timeout=15)
    except GatedRepoError:
        raise UserError(f"model {repo_id} is gated on the Hugging Face Hub; accept its terms and run "
                        "`hf auth login`, or pass a local folder") from None
    except RepositoryNotFoundError:
        raise UserError(f"unknown model id {repo_id} on the Hugging Face Hub (or it is private); check the "
                        "spelling, or pass a local folder or .gguf file") from None
    except Exception as exc:  # network errors come from several libraries (httpx, requests, socket)
        raise UserError(f"cannot reach the Hugging Face Hub to download {repo_id} ({type(exc).__name__}); "
                        "pass a local folder or .gguf file, or leave out --model for the embedded model") from None
    return ModelSource(repo_id, repo_id, "hub")


# ---------------------------------------------------------------- loading


def resolve_device(device: str | None) -> str:
    import torch

    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device {device} was asked for but no CUDA GPU is visible to PyTorch; use --device cpu")
    if device not in {"cpu", "mps"} and not device.startswith("cuda"):
        raise UserError(f"unknown device {device}; use cpu, cuda or cuda:N")
    return device


def load_base(model: str | os.PathLike | None = None, quantization: str = "nf4", device: str | None = None,
              source: ModelSource | None = None):
    """Load the base model and tokenizer (no adapter). Returns (hf_model, tokenizer), in eval mode."""
    source = source or resolve_model(model)
    hf_model = load_causal_lm(source.path, quantization, device, local_files_only=source.local_files_only,
                              name=source.name)
    return hf_model, load_tokenizer(source=source)


def load_tokenizer(model: str | os.PathLike | None = None, source: ModelSource | None = None):
    """The model's tokenizer, padded on the left (for batched generation)."""
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    source = source or resolve_model(model)
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.path, local_files_only=source.local_files_only)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load the tokenizer of {source.name}: {_first_line(exc)}") from None
    finally:
        hf_logging.enable_progress_bar()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return tokenizer


def render_messages(tokenizer, messages: list[dict]) -> str:
    """The exact text a model with this tokenizer sees for chat messages. A final assistant message is a prefix
    the model continues."""
    if not messages:
        raise UserError("no messages to sample from")
    for message in messages:
        if message.get("role") not in {"system", "user", "assistant"} or not isinstance(message.get("content"), str):
            raise UserError(f"bad message {str(message)[:80]}: need role system/user/assistant and content text")
    continues = messages[-1]["role"] == "assistant"
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=not continues,
                                             continue_final_message=continues)
    # A plain completion prompt: the texts in order; the last one is continued.
    text = "\n\n".join(message["content"].rstrip("\n") if i < len(messages) - 1 else message["content"]
                       for i, message in enumerate(messages))
    return text if continues or text.endswith("\n") else text + "\n"


def load_causal_lm(path: str, quantization: str = "nf4", device: str | None = None, local_files_only: bool = True,
                   name: str | None = None):
    """Only the weights: NF4 (double quant, bf16 compute) / bf16 / fp32 on `device`, CPU packing trap handled."""
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    if quantization not in QUANTIZATIONS:
        raise UserError(f"unknown quantization {quantization}; use one of {', '.join(QUANTIZATIONS)}")
    device = resolve_device(device)
    kwargs: dict[str, Any] = {"local_files_only": local_files_only}
    if quantization == "nf4":
        import_bitsandbytes()
        if device == "mps":
            raise UserError("bitsandbytes 4-bit does not run on mps; pass --quantization bf16")
        from transformers import BitsAndBytesConfig

        dtype = compute_dtype(device)
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype)
    else:
        dtype = torch.float32 if quantization == "fp32" else half_dtype(device)
    device_map = {"": torch.device(device).index or 0} if device.startswith("cuda") else {"": device}
    hf_logging.disable_progress_bar()
    try:
        hf_model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, device_map=device_map, **kwargs)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load model {name or path}: {_first_line(exc)}") from None
    finally:
        hf_logging.enable_progress_bar()
    if quantization == "nf4":
        disable_cpu_weight_packing(hf_model)
        keep_unpacked_weights(hf_model)
    return hf_model.eval()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def count_parameters(model) -> int:
    """Parameters of the base model as trained (a 4-bit weight counts its original shape, not its packed bytes)."""
    total = 0
    for name, param in model.named_parameters():
        if "lora_" in name:
            continue
        quant_state = getattr(param, "quant_state", None)
        total += math.prod(quant_state.shape) if quant_state is not None else param.numel()
    return total


# ---------------------------------------------------------------- adapters


def _adapter_config(path: Path) -> dict:
    config_file = path / "adapter_config.json"
    if not path.exists():
        raise UserError(f"adapter folder {path} does not exist")
    if not config_file.is_file():
        raise UserError(f"{path} holds no adapter_config.json, so it is not a peft adapter folder")
    try:
        return json.loads(config_file.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{config_file} is not valid JSON ({exc.msg} at line {exc.lineno})") from None


def _adapter_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    weights = path / "adapter_model.safetensors"
    if weights.is_file():
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as handle:
            return {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}
    legacy = path / "adapter_model.bin"
    if legacy.is_file():
        import torch

        return {key: tuple(value.shape) for key, value in torch.load(legacy, map_location="cpu").items()}
    raise UserError(f"{path} holds no adapter_model.safetensors; was the adapter saved completely?")


def _same_model_name(a: str, b: str) -> bool:
    def stem(name: str) -> str:
        return Path(str(name).rstrip("/\\")).name.lower()

    return stem(a) == stem(b)


def check_adapter_matches(path: Path, base_model, base_names: list[str]) -> dict:
    """Refuse an adapter trained on another base: a different base name, or LoRA shapes that do not fit."""
    config = _adapter_config(path)
    recorded = config.get("base_model_name_or_path")
    if recorded and not any(_same_model_name(recorded, name) for name in base_names if name):
        raise UserError(f"adapter {path} was trained on {recorded}, not on {base_names[0]}; "
                        f"load it with --model {recorded}")
    modules = dict(base_model.named_modules())
    for key, shape in _adapter_shapes(path).items():
        found = re.match(r"^(?:base_model\.model\.)?(.+)\.lora_([AB])(?:\.[\w-]+)?\.weight$", key)
        if not found or len(shape) != 2:
            continue
        module_name, which = found.groups()
        module = modules.get(module_name)
        in_features, out_features = getattr(module, "in_features", None), getattr(module, "out_features", None)
        if module is None or in_features is None:
            raise UserError(f"adapter {path} targets {module_name}, which {base_names[0]} does not have: "
                            f"it was made for another base model ({recorded or 'unknown'})")
        fits = shape[1] == in_features if which == "A" else shape[0] == out_features
        if not fits:
            raise UserError(f"adapter {path} does not fit {base_names[0]} ({module_name}: adapter {list(shape)} vs "
                            f"layer {in_features}->{out_features}); it was made for {recorded or 'another base'}")
    return config


# ---------------------------------------------------------------- the model


class HFProvider(Sampling, Provider):
    """A loaded base model (+ adapters) that samples candidates in this process (its sampling: hf_sampling.py)."""

    def __init__(self, model, tokenizer, source: ModelSource, quantization: str, device: str):
        self.model = model
        self.tokenizer = tokenizer
        self.source = source
        self.name = source.name
        self.quantization = quantization
        self.device = device
        self.max_batch: int | None = None  # None: all rows in one batch
        self.share_prefill = True  # read each distinct prompt once for its n rows (False: once per row)
        self.share_prefix = True  # and the prefix that several prompts share once for all of them
        self.grow_cache_in_place = True  # False: transformers' KV cache, copied at every step (for benchmarks)
        self.adapters: dict[str, str] = {}  # peft adapter name -> folder
        self.adapter: str | None = None  # folder of the active adapter, None when sampling from the base

    @classmethod
    def from_pretrained(cls, model: str | os.PathLike | None = None, adapter: str | os.PathLike | None = None,
                        quantization: str = "nf4", device: str | None = None) -> HFProvider:
        source = resolve_model(model)
        device = resolve_device(device)
        hf_model, tokenizer = load_base(quantization=quantization, device=device, source=source)
        loaded = cls(hf_model, tokenizer, source, quantization, device)
        if adapter is not None:
            loaded.load_adapter(adapter)
        return loaded

    # ------------------------------------------------------------ adapters

    @property
    def base_model(self):
        """The HF model without the peft wrapper."""
        return self.model.get_base_model() if self.adapters else self.model

    def load_adapter(self, path: str | os.PathLike, name: str | None = None) -> str:
        """Load a LoRA adapter from a folder and make it active; the base model is not reloaded."""
        folder = Path(path).expanduser().resolve()
        for existing_name, existing_path in self.adapters.items():
            if existing_path == str(folder):
                self.set_adapter(existing_name)
                return existing_name
        check_adapter_matches(folder, self.base_model,
                              [self.name, self.source.path, getattr(self.base_model.config, "_name_or_path", "")])
        name = name or re.sub(r"\W", "_", folder.name) + f"_{len(self.adapters)}"
        from peft import PeftModel

        if not self.adapters:
            self.model = PeftModel.from_pretrained(self.model, str(folder), adapter_name=name, is_trainable=False)
        else:
            self.model.load_adapter(str(folder), adapter_name=name, is_trainable=False)
        self.adapters[name] = str(folder)
        self.set_adapter(name)
        self.model.eval()
        return name

    def set_adapter(self, adapter: str | os.PathLike | None) -> None:
        """Switch to a loaded adapter (by name or folder), load a new one (folder), or None for the base model."""
        if adapter is None:
            if self.adapters:
                self.model.base_model.disable_adapter_layers()
            self.adapter = None
            return
        key = str(adapter)
        if key not in self.adapters:
            matches = [name for name, folder in self.adapters.items()
                       if folder == str(Path(key).expanduser().resolve())]
            if not matches:
                self.load_adapter(adapter)
                return
            key = matches[0]
        self.model.base_model.enable_adapter_layers()
        self.model.set_adapter(key)
        self.adapter = self.adapters[key]

    # ------------------------------------------------------------ prompts and tokens

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    @property
    def context_length(self) -> int:
        config = self.base_model.config
        lengths = [getattr(config, "max_position_embeddings", None), getattr(self.tokenizer, "model_max_length", None)]
        usable = [length for length in lengths if isinstance(length, int) and 0 < length < 10_000_000]
        return min(usable) if usable else 2048

    def render(self, messages: list[dict]) -> str:
        """The exact text the model sees. A final assistant message is a prefix the model continues."""
        return render_messages(self.tokenizer, messages)

    def _encode(self, prompt: str):
        # A rendered chat template already holds its special tokens; a plain prompt gets the usual BOS.
        encoded = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=not self.has_chat_template)
        return encoded["input_ids"].to(self.model.device), encoded["attention_mask"].to(self.model.device)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    # ------------------------------------------------------------ description

    def info(self) -> dict:
        import torch

        base = self.base_model
        adapter_parameters = sum(p.numel() for name, p in self.model.named_parameters() if "lora_" in name)
        quantized = self.quantization == "nf4"
        dtype = base.dtype
        return {
            "name": self.name,
            "source": self.source.path,
            "kind": self.source.kind,
            "parameters": count_parameters(base),
            "quantization": "nf4 (bitsandbytes 4-bit, double quant)" if quantized else self.quantization,
            "dtype": str(compute_dtype(self.device) if quantized else dtype).replace("torch.", ""),
            "device": str(next(base.parameters()).device) if self.device != "cpu" else "cpu",
            "adapter": self.adapter,
            "adapters": dict(self.adapters),
            "adapter_parameters": adapter_parameters,
            "context_length": self.context_length,
            "chat_template": self.has_chat_template,
            "memory_mb": round(base.get_memory_footprint() / 2**20, 1),
            "unpacked_for_sampling": any(getattr(m, "keeps_unpacked_weight", False) for m in base.modules()),
            "torch_threads": torch.get_num_threads(),
        }

    def __repr__(self) -> str:
        return f"HFProvider({self.name!r}, quantization={self.quantization!r}, device={self.device!r}, " \
               f"adapter={self.adapter!r})"
