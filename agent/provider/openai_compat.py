"""Sampling through an OpenAI-compatible server: vLLM, SGLang, llama.cpp server, Ollama, TGI, `transformers serve`,
or a hosted API, through the `openai` client.

    p = OpenAICompatProvider(["http://gpu1:8000/v1", "http://gpu2:8000/v1"], model="Qwen/Qwen2.5-Coder-7B-Instruct")
    samples = p.sample(messages, n=8, temperature=0.8, max_new_tokens=384, stop=None, seed=0)

- n candidates: one request asking for `n` while the server honours it; a server that returns fewer choices
  (Ollama, llama.cpp server, `transformers serve`) or refuses `n` gets concurrent one-choice requests from then
  on, at most `max_concurrency` at a time. Request i of a call is seeded `seed + i`.
- Several base URLs (replicas of one model) take requests in turn; a request whose replica stays down after the
  client's retries goes to the next one.
- Retries: the `openai` client's own, with exponential backoff on 408, 409, 429, 5xx, timeouts and dropped
  connections (`max_retries` per replica). What fails after them is one line (`UserError`).
- Token counting for fitting prompts: the model's tokenizer when it loads from local files, else the server's
  tokenize endpoint (vLLM's `/tokenize`, llama.cpp's `/tokenize`), else an estimate of one token per 2.5
  characters (measured with SmolLM2's tokenizer: 3.0 characters per token on refinement prompts, 3.1-3.8 on
  code), which errs on the side of shorter prompts.
- Chat completions by default; plain completions (the prompt rendered as the in-process model renders it) when
  the local tokenizer has no chat template, or with api="completions".
- LoRA: `load_adapter(DIR)` asks each replica to load it at run time (vLLM's `/v1/load_lora_adapter`) and then
  samples with the adapter's name as the model; a server without that endpoint gets a one-line message.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from agent.errors import UserError
from agent.provider.base import Provider, Sample, check_n, cut_at_stop, stop_list
from agent.stopping import cut_answer

DEFAULT_CONTEXT_LENGTH = 4096  # when neither a local config nor the server says (stated in info())
CHARS_PER_TOKEN_ESTIMATE = 2.5  # SmolLM2's tokenizer: 3.0 on refinement prompts, 3.1-3.8 on code
DEFAULT_API_KEY = "EMPTY"  # local servers (vLLM, llama.cpp, transformers serve) ignore the key unless given one


def base_urls_from_env() -> list[str]:
    """OPENAI_BASE_URL, which may name several replicas separated by commas."""
    return [url.strip() for url in os.environ.get("OPENAI_BASE_URL", "").split(",") if url.strip()]


def _check_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", url):
        raise UserError(f"--server {url!r} is not an http(s) URL; pass the API base, e.g. http://localhost:8000/v1")
    return url


def _cut(sample: Sample, stop_when) -> Sample:
    text, was_cut = cut_answer(sample.text, stop_when)
    return replace(sample, text=text, finish_reason="stop") if was_cut else sample


def _server_message(exc) -> str:
    """The server's own words from an error response (OpenAI, vLLM and FastAPI put them in different places)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            text = inner.get("message") or inner.get("detail") or body.get("detail")
        else:
            text = inner
        if text:
            return " ".join(str(text).split())[:300]
    return " ".join(str(getattr(exc, "message", exc)).split())[:300]


def adapter_name(folder: Path) -> str:
    """The name an adapter is served under: its folder's name and a hash of its path and weights' time, so two
    folders called `adapter` (improve's rounds) or a folder trained again get different names."""
    weights = [folder / f for f in ("adapter_model.safetensors", "adapter_model.bin") if (folder / f).is_file()]
    stamp = f"{folder}:{weights[0].stat().st_mtime_ns if weights else ''}"
    safe = re.sub(r"[^\w.-]", "_", folder.name)
    return f"{safe}-{hashlib.sha256(stamp.encode()).hexdigest()[:8]}"


class OpenAICompatProvider(Provider):
    """A model behind one or more OpenAI-compatible base URLs (replicas of the same model)."""

    def __init__(self, base_urls: list[str] | str, model: str | None = None, api_key: str | None = None,
                 api: str = "auto", max_concurrency: int = 8, timeout_s: float = 600.0, max_retries: int = 3,
                 context_length: int | None = None, tokenizer: str | None = None, extra_body: dict | None = None):
        import openai

        urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        if not urls:
            raise UserError("no server URL given; pass --server http://host:8000/v1 or set OPENAI_BASE_URL")
        if api not in ("auto", "chat", "completions"):
            raise UserError(f"api {api!r} is unknown; use chat or completions")
        if max_concurrency < 1:
            raise UserError(f"max_concurrency must be at least 1 (got {max_concurrency})")
        self.urls = [_check_url(url) for url in urls]
        key = api_key or os.environ.get("OPENAI_API_KEY") or DEFAULT_API_KEY
        self.clients = [openai.OpenAI(base_url=url, api_key=key, max_retries=max_retries, timeout=timeout_s)
                        for url in self.urls]
        self.max_retries = max_retries
        self.extra_body = dict(extra_body or {})  # server-specific request fields (vLLM's top_k, min_tokens, ...)
        self.max_concurrency = max_concurrency
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="infinicode-http")
        self.honours_n: bool | None = None  # learnt from the first request that asks for several choices
        self.answered: Counter[str] = Counter()  # base URL -> requests it answered
        self.failed: Counter[str] = Counter()  # base URL -> requests that failed there after the retries
        self._listed = self._list_models()
        self.base_model = model or self._default_model()
        self.model = self.base_model  # what requests name: the base model, or a loaded adapter's name
        self.name = self.base_model
        self.adapter: str | None = None
        self.tokenizer = self._local_tokenizer(tokenizer or self.base_model)
        self.api = api if api != "auto" else (
            "completions" if self.tokenizer is not None and not getattr(self.tokenizer, "chat_template", None)
            else "chat")
        self._tokenize_endpoint: str | None = None if self.tokenizer is not None else "unknown"
        self.context_length, self.context_source = self._context_length(context_length)

    # ------------------------------------------------------------ discovery

    def _list_models(self) -> list[dict]:
        """GET /models on the first replica: [] when the server does not list (some answer 404 or 500)."""
        import openai

        try:
            page = self.clients[0].models.list()
            return [m.model_dump() for m in page.data]
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise self._error(exc, self.urls[0]) from None
        except openai.APIConnectionError as exc:
            raise self._error(exc, self.urls[0]) from None
        except openai.APIError:
            return []

    def _default_model(self) -> str:
        if not self._listed:
            raise UserError(f"the server at {self.urls[0]} does not list its models; pass --model NAME (the name "
                            "the server serves the model under)")
        return str(self._listed[0]["id"])

    def _local_tokenizer(self, name: str):
        """The model's tokenizer from local files (a folder, the Hugging Face cache), or None."""
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        path = Path(name).expanduser()
        hf_logging.disable_progress_bar()
        previous = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        try:
            return AutoTokenizer.from_pretrained(str(path) if path.is_dir() else name, local_files_only=True)
        except Exception:  # not a local folder, not cached, or no tokenizer files: fall back to the server
            return None
        finally:
            hf_logging.set_verbosity(previous)
            hf_logging.enable_progress_bar()

    def _context_length(self, given: int | None) -> tuple[int, str]:
        if given:
            return int(given), "given"
        for entry in self._listed:
            if entry.get("id") == self.base_model and isinstance(entry.get("max_model_len"), int):
                return entry["max_model_len"], "server (/models max_model_len)"
        if self.tokenizer is not None:
            from transformers import AutoConfig

            lengths = [getattr(self.tokenizer, "model_max_length", None)]
            try:
                config = AutoConfig.from_pretrained(self.tokenizer.name_or_path, local_files_only=True)
                lengths.append(getattr(config, "max_position_embeddings", None))
            except Exception:  # tokenizer files without a model config
                pass
            usable = [n for n in lengths if isinstance(n, int) and 0 < n < 10_000_000]
            if usable:
                return min(usable), "local config"
        return DEFAULT_CONTEXT_LENGTH, f"assumed ({DEFAULT_CONTEXT_LENGTH}, the server did not say)"

    # ------------------------------------------------------------ prompts and tokens

    def render(self, messages: list[dict]) -> str:
        if self.tokenizer is None:
            return super().render(messages)
        continues = messages[-1]["role"] == "assistant"
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=not continues,
                                                      continue_final_message=continues)
        text = "\n\n".join(m["content"].rstrip("\n") if i < len(messages) - 1 else m["content"]
                           for i, m in enumerate(messages))
        return text if continues or text.endswith("\n") else text + "\n"

    def count_tokens(self, text: str) -> int:
        if self.tokenizer is not None:
            return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        if self._tokenize_endpoint != "none":
            counted = self._count_on_server(text)
            if counted is not None:
                return counted
        return math.ceil(len(text) / CHARS_PER_TOKEN_ESTIMATE)

    def _count_on_server(self, text: str) -> int | None:
        """vLLM: POST /tokenize {model, prompt} -> {count}; llama.cpp: POST /tokenize {content} -> {tokens}."""
        import openai

        root = re.sub(r"/v1$", "", self.urls[0])
        bodies = {"vllm": {"model": self.base_model, "prompt": text, "add_special_tokens": False},
                  "llama.cpp": {"content": text, "add_special": False}}
        kinds = [self._tokenize_endpoint] if self._tokenize_endpoint in bodies else list(bodies)
        for kind in kinds:
            try:
                answer = self.clients[0].post(f"{root}/tokenize", body=bodies[kind], cast_to=object)
            except openai.APIError:
                continue
            if isinstance(answer, dict) and isinstance(answer.get("tokens"), list):
                self._tokenize_endpoint = kind
                return int(answer.get("count") or len(answer["tokens"]))
        self._tokenize_endpoint = "none"
        return None

    @property
    def token_counting(self) -> str:
        if self.tokenizer is not None:
            return "local tokenizer"
        if self._tokenize_endpoint in ("vllm", "llama.cpp"):
            return f"server /tokenize ({self._tokenize_endpoint})"
        return f"estimate (1 token per {CHARS_PER_TOKEN_ESTIMATE} characters)"

    # ------------------------------------------------------------ sampling

    def sample(self, messages: list[dict], n: int = 4, temperature: float = 0.8, top_p: float = 0.95,
               max_new_tokens: int = 384, stop: list[str] | str | None = None,
               seed: int | None = 0, stop_when=None) -> list[Sample]:
        """n answers; temperature <= 0 is greedy (one request, its answer copied n times). `stop_when` cuts each
        answer where it is complete, once it is back (a server cannot run our check mid-generation)."""
        check_n(n)
        if not messages:
            raise UserError("no messages to sample from")
        stops = stop_list(stop)
        greedy = temperature is None or temperature <= 0
        prompt_tokens = self.count_tokens(self.render(messages))
        room = self.context_length - prompt_tokens
        if room <= 0:
            raise UserError(f"the prompt has about {prompt_tokens} tokens but {self.name} reads at most "
                            f"{self.context_length}; shorten the task or the feedback")
        params = {"temperature": 0.0 if greedy else float(temperature), "max_tokens": min(int(max_new_tokens), room)}
        if not greedy:
            params["top_p"] = float(top_p)
        if stops:
            params["stop"] = stops
        count = 1 if greedy else n
        if count > 1 and self.honours_n is not False:
            sizes = [count // len(self.urls) + (1 if i < count % len(self.urls) else 0)
                     for i in range(min(count, len(self.urls)))]
        else:
            sizes = [1] * count
        samples = self._run(messages, sizes, seed, params, stops)
        if len(samples) < count:  # the server gave fewer choices than asked: one request per candidate from now
            self.honours_n = False
            missing = count - len(samples)
            more_seed = None if seed is None else seed + len(sizes)
            samples += self._run(messages, [1] * missing, more_seed, params, stops)
        elif any(size > 1 for size in sizes):
            self.honours_n = True
        if stop_when is not None:
            samples = [_cut(sample, stop_when) for sample in samples]
        return samples * n if greedy else samples[:n]

    def _run(self, messages, sizes: list[int], seed: int | None, params: dict, stops: list[str]) -> list[Sample]:
        futures = [self._pool.submit(self._request, messages, size, None if seed is None else seed + i, params, stops)
                   for i, size in enumerate(sizes)]
        out: list[Sample] = []
        for future in futures:
            out += future.result()
        return out

    def _request(self, messages, size: int, seed: int | None, params: dict, stops: list[str]) -> list[Sample]:
        import openai

        with self._lock:
            first = next(self._turn) % len(self.clients)
        last_error: Exception | None = None
        for attempt in range(len(self.clients)):
            at = (first + attempt) % len(self.clients)
            try:
                response = self._create(self.clients[at], messages, size, seed, params)
            except openai.BadRequestError as exc:
                if size > 1 and self.honours_n is None and not self._names_the_model(_server_message(exc)):
                    return []  # the server refuses n: the caller asks again, one choice per request
                raise self._error(exc, self.urls[at]) from None
            except (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError) as exc:
                last_error = exc  # the client already retried with backoff: try the next replica
                with self._lock:
                    self.failed[self.urls[at]] += 1
                continue
            except openai.APIError as exc:
                raise self._error(exc, self.urls[at]) from None
            with self._lock:
                self.answered[self.urls[at]] += 1
            return self._samples(response, messages, stops)
        raise self._error(last_error, self.urls[first], retried=True) from None

    def _create(self, client, messages, size: int, seed: int | None, params: dict):
        extra = {} if seed is None else {"seed": seed}
        if size > 1:
            extra["n"] = size
        extra_body = dict(self.extra_body)
        if self.api == "completions":
            return client.completions.create(model=self.model, prompt=self.render(messages), extra_body=extra_body,
                                             **params, **extra)
        if messages[-1]["role"] == "assistant":  # vLLM's way to continue a final assistant message
            extra_body.update(continue_final_message=True, add_generation_prompt=False)
        return client.chat.completions.create(model=self.model, messages=messages, extra_body=extra_body,
                                              **params, **extra)

    def _samples(self, response, messages, stops: list[str]) -> list[Sample]:
        usage = getattr(response, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        total_completion = int(getattr(usage, "completion_tokens", 0) or 0)
        texts, finishes = [], []
        for choice in sorted(response.choices, key=lambda c: c.index):
            raw = choice.message.content if self.api == "chat" else choice.text
            text, was_cut = cut_at_stop(raw or "", stops)  # some servers leave the stop string in the text
            finish = choice.finish_reason or "length"
            if was_cut or (finish == "stop" and isinstance(getattr(choice, "stop_reason", None), str)):
                finishes.append("stop")
            else:
                finishes.append("length" if finish == "length" else "eos")
            texts.append(text)
        counts = self._split_completion_tokens(texts, total_completion)
        if not prompt_tokens:  # a server that reports no usage
            prompt_tokens = self.count_tokens(self.render(messages))
        return [Sample(text=t, prompt_tokens=prompt_tokens, completion_tokens=c, finish_reason=f)
                for t, c, f in zip(texts, counts, finishes, strict=True)]

    def _split_completion_tokens(self, texts: list[str], total: int) -> list[int]:
        """Per choice: `usage` counts all choices together, so several are split by the local tokenizer's
        counts (or by text length without one), keeping the server's total."""
        if len(texts) == 1:
            return [total if total else self.count_tokens(texts[0])]
        weights = [max(1, self.count_tokens(t) if self.tokenizer is not None else len(t)) for t in texts]
        if not total:
            return weights if self.tokenizer is not None else [math.ceil(w / CHARS_PER_TOKEN_ESTIMATE)
                                                                for w in weights]
        shares = [total * w // sum(weights) for w in weights]
        shares[-1] += total - sum(shares)
        return shares

    # ------------------------------------------------------------ adapters

    def load_adapter(self, path: str | os.PathLike, name: str | None = None) -> str:
        """Load a LoRA adapter folder on every replica at run time (vLLM's /v1/load_lora_adapter) and sample
        with it. The folder must be readable by the server at the same path."""
        import openai

        folder = Path(path).expanduser().resolve()
        if not (folder / "adapter_config.json").is_file():
            raise UserError(f"{folder} holds no adapter_config.json, so it is not a peft adapter folder")
        name = name or adapter_name(folder)
        for client, url in zip(self.clients, self.urls, strict=True):
            try:
                client.post("/load_lora_adapter", body={"lora_name": name, "lora_path": str(folder)}, cast_to=str)
            except openai.APIStatusError as exc:
                message = _server_message(exc)
                if exc.status_code == 400 and "already" in message.lower():
                    continue  # loaded earlier under this name (a resumed run)
                if exc.status_code in (404, 405):
                    raise UserError(
                        f"the server at {url} cannot load LoRA adapters at run time (POST /v1/load_lora_adapter "
                        f"answered {exc.status_code}); serve the adapter from the start (vLLM: --enable-lora "
                        f"--lora-modules {name}={folder}, then --model {name}), or start vLLM with --enable-lora "
                        "and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True") from None
                raise UserError(f"the server at {url} did not load adapter {folder} ({exc.status_code}: "
                                f"{message})") from None
            except openai.APIConnectionError as exc:
                raise self._error(exc, url) from None
        self.model, self.adapter = name, str(folder)
        return name

    def set_adapter(self, adapter: str | os.PathLike | None) -> None:
        """None: sample from the base model again; a folder: load it (see load_adapter)."""
        if adapter is None:
            self.model, self.adapter = self.base_model, None
        else:
            self.load_adapter(adapter)

    # ------------------------------------------------------------ errors and description

    def _error(self, exc: Exception | None, url: str, retried: bool = False) -> UserError:
        import openai

        tries = f" after {self.max_retries} retries" if retried and self.max_retries else ""
        if isinstance(exc, openai.APITimeoutError):
            return UserError(f"the model server at {url} did not answer in time{tries}; check that it is running, "
                             "or raise the timeout")
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            reason = " ".join(str(cause).split())[:120] or type(cause).__name__
            return UserError(f"cannot reach the model server at {url}{tries} ({reason}); start it, or check "
                             "--server / OPENAI_BASE_URL")
        if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return UserError(f"the model server at {url} rejected the API key ({exc.status_code}: "
                             f"{_server_message(exc)}); set OPENAI_API_KEY to a key it accepts")
        if isinstance(exc, openai.APIStatusError):
            message = _server_message(exc)
            if "context length" in message.lower() or "maximum context" in message.lower():
                return UserError(f"the prompt does not fit {self.model!r} on {url} ({message}); lower "
                                 "--max-new-tokens or pass the model's tokenizer so prompts are fitted exactly")
            if exc.status_code in (400, 404) and self._names_the_model(message):
                return UserError(f"the model server at {url} does not serve model {self.model!r} ({message}); "
                                 "pass --model with a name it serves (GET /v1/models lists them)")
            if exc.status_code == 404:
                return UserError(f"{url} has no OpenAI {self.api} endpoint (404); --server must be the API base "
                                 "URL, usually ending in /v1")
            return UserError(f"the model server at {url} answered {exc.status_code}{tries}: {message}")
        return UserError(f"the model server at {url} failed: {exc}")

    def _names_the_model(self, message: str) -> bool:
        """Whether an error is about the model name (vLLM: 'The model `x` does not exist'; transformers serve:
        "Server is pinned to '...'; requested 'x'")."""
        lower = message.lower()
        return self.model in message or "model" in lower and ("does not exist" in lower or "not found" in lower)

    def info(self) -> dict:
        return {"name": self.name, "kind": "server", "model": self.model, "servers": list(self.urls),
                "api": self.api, "adapter": self.adapter, "context_length": self.context_length,
                "context_length_from": self.context_source, "token_counting": self.token_counting,
                "honours_n": self.honours_n, "max_concurrency": self.max_concurrency,
                "answered": dict(self.answered), "failed": dict(self.failed)}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for client in self.clients:
            client.close()

    def __repr__(self) -> str:
        return f"OpenAICompatProvider({self.model!r}, servers={self.urls!r})"
