"""The `infinicode` command. Each verb lives in its own `infinicode/cli_<verb>.py` and registers itself here.

Heavy imports (torch, transformers, docker) happen inside the commands, so `infinicode --help` stays fast.
"""

from __future__ import annotations

import importlib
import signal
import sys
import threading

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Generate-evaluate-refine code synthesis: a 4-bit LLM writes code, a Docker sandbox judges it.")

VERBS = ("sandbox", "model", "solve", "bench", "evaluate", "finetune", "report")
for _verb in VERBS:
    importlib.import_module(f"infinicode.cli_{_verb}").register(app)


class Terminated(KeyboardInterrupt):
    """SIGTERM (timeout, CI cancels, docker stop, Kubernetes), raised where Ctrl-C raises KeyboardInterrupt so that
    one cleanup path (the sandbox removing its containers, run files closed) serves both signals."""


_terminated = threading.Event()


def _on_sigterm(signum, frame) -> None:
    _terminated.set()
    # A second SIGTERM kills at once (the default action), as a second Ctrl-C would be the user insisting.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise Terminated()


def main() -> None:
    from agent.errors import UserError
    from agent.provider.malloc_arenas import cap_malloc_arenas
    from sandbox.errors import SandboxError

    cap_malloc_arenas()  # before any thread starts: a threaded run's memory stays bounded (see that module)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    code = 0
    try:
        app()  # click prints usage errors itself (exit 2) and turns Ctrl-C into "Aborted!" (exit 1)
    except (UserError, SandboxError) as exc:
        print(f"infinicode: error: {exc}", file=sys.stderr)
        code = 2
    except SystemExit as exc:
        code = exc.code
    except KeyboardInterrupt:  # Terminated outside click's own handling
        code = 1
    if _terminated.is_set():
        code = 128 + signal.SIGTERM  # the shell's convention for "ended by SIGTERM": 143
    if code in (128 + signal.SIGINT, 128 + signal.SIGTERM):
        print(f"infinicode: stopped ({'SIGTERM' if code == 128 + signal.SIGTERM else 'Ctrl-C'}); what finished is "
              "saved: the same command resumes a solve, bench, improve or finetune run", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
