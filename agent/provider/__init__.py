"""Model backends behind one interface (`Provider.sample` -> `Sample`s), and the one factory that builds them.

    provider = make_provider(model=None, server=None, adapter=None)      # the embedded model, in-process, NF4
    provider = make_provider(model="NAME", server=["http://host:8000/v1"])  # an OpenAI-compatible server

With no `server`, OPENAI_BASE_URL (one URL, or several separated by commas) chooses the server backend too.
"""

from __future__ import annotations

import os

from agent.provider.base import FINISH_REASONS, Provider, Sample

__all__ = ["FINISH_REASONS", "Provider", "Sample", "make_provider", "server_urls"]


def server_urls(server: list[str] | str | None = None) -> list[str]:
    """The server base URLs: the given ones, else OPENAI_BASE_URL's, else none (the in-process model)."""
    from agent.provider.openai_compat import base_urls_from_env

    if isinstance(server, str):
        server = [server]
    urls = [url for url in (server or []) if url and url.strip()]
    return urls or base_urls_from_env()


def make_provider(model: str | os.PathLike | None = None, server: list[str] | str | None = None,
                  adapter: str | os.PathLike | None = None, quantization: str = "nf4", device: str | None = None,
                  api_key: str | None = None, **server_options) -> Provider:
    """The in-process model (`model`: hub id, folder or .gguf; None: the embedded one), or, with server URLs,
    the model a server serves under the name `model` (None: the first it lists). `adapter` is a LoRA folder:
    loaded in-process, or on the server at run time where it allows that. `server_options` go to
    OpenAICompatProvider (api, max_concurrency, timeout_s, max_retries, context_length, tokenizer,
    extra_body)."""
    urls = server_urls(server)
    if urls:
        from agent.provider.openai_compat import OpenAICompatProvider

        provider = OpenAICompatProvider(urls, model=str(model) if model is not None else None, api_key=api_key,
                                        **server_options)
        if adapter is not None:
            provider.load_adapter(adapter)
        return provider
    from agent.provider.hf import HFProvider

    return HFProvider.from_pretrained(model, adapter=adapter, quantization=quantization, device=device)
