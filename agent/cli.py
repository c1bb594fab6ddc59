"""The `infinicode` command. Each verb lives in its own `agent/cli_<verb>.py` and registers itself here.

Heavy imports (torch, transformers, docker) happen inside the commands, so `infinicode --help` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Generate-evaluate-refine code synthesis: a 4-bit LLM writes code, a Docker sandbox judges it.")

VERBS = ("sandbox", "model", "solve", "bench", "evaluate", "finetune")
for _verb in VERBS:
    importlib.import_module(f"agent.cli_{_verb}").register(app)


def main() -> None:
    from agent.errors import UserError
    from sandbox.errors import SandboxError

    try:
        app()  # click prints usage errors itself (exit 2) and turns Ctrl-C into "Aborted!" (exit 1)
    except (UserError, SandboxError) as exc:
        print(f"infinicode: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
