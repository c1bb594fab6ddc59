"""What the command-line options build: the model backend and the sandbox. The verbs call these instead of
constructing either themselves, so each is built, and announced on stderr, one way.

Imports of torch, transformers and docker happen inside, so importing this module stays cheap for `--help`.
"""

from __future__ import annotations

from typing import Annotated

import typer

# The options that choose the model, declared once for the verbs that sample with it (solve, bench).
ModelOpt = Annotated[str | None, typer.Option("--model", help="HF id, local folder or .gguf file (default: the "
                                              "embedded SmolLM2-135M-Instruct); with --server, the name the "
                                              "server serves (default: the first it lists).")]
ServerOpt = Annotated[list[str] | None, typer.Option("--server", help="OpenAI-compatible API base URL, e.g. "
                                                     "http://localhost:8000/v1; repeat for replicas (default: "
                                                     "$OPENAI_BASE_URL, else the model runs in-process).")]
ParallelOpt = Annotated[int, typer.Option("--parallel", min=1, help="Tasks in flight at once: an in-process model "
                                          "samples their prompts in one batch, a server gets them concurrently.")]


def describe_model(model: str | None, urls: list[str]) -> str:
    """`NAME on URL, URL` for a server, `NAME` in-process; the defaults named as such."""
    if urls:
        return f"{model or '(the first the server lists)'} on {', '.join(urls)}"
    return model or "(embedded default)"


def load_model(model: str | None, server: list[str] | None, adapter: str | None, quantization: str, console,
               device: str | None = None):
    """The backend the options name: `--server` (or $OPENAI_BASE_URL) serving `--model`, else `--model` loaded
    in-process; `--adapter` on it."""
    from agent.provider import make_provider, server_urls

    urls = server_urls(server)
    console.print(f"[bold]infinicode[/bold]: loading model {describe_model(model, urls)} ...")
    return make_provider(model=model, server=urls, adapter=adapter, quantization=quantization, device=device)


def open_sandbox(workers: int | None = None, memory_mb: int | None = None):
    """The sandbox (a context manager): `workers` warm containers (default: one per CPU); `memory_mb` raises the
    containers' limit above the default for jobs that need more."""
    from sandbox import Sandbox

    options = {} if memory_mb is None else {"memory_mb": memory_mb}
    return Sandbox(workers=workers, **options)
