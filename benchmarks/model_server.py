"""`transformers serve` (transformers' own OpenAI-compatible server) with a local model folder, in its own process
group on a free localhost port: started by the server backend's tests and by benchmarks/bench_backends.py.

    server = ModelServer(sampling_copy(model_dir, tmp / "served"), log_dir=tmp).start()   # ... server.stop()
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

START_TIMEOUT_S = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ModelServer:
    """`transformers serve MODEL` on 127.0.0.1:port; the request's model name is the served folder's path."""

    def __init__(self, model_dir: Path, log_dir: Path, port: int | None = None, extra_args: list[str] | None = None):
        self.model = str(model_dir)
        self.extra_args = list(extra_args or [])
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> ModelServer:
        self.starts += 1
        log = open(self.log_dir / f"serve-{self.port}-{self.starts}.log", "wb")
        cli = Path(sys.executable).with_name("transformers")
        # An empty hub cache folder: without one, GET /v1/models answers 500 (seen with transformers 5.23).
        hub_cache = self.log_dir / "hf-hub"
        hub_cache.mkdir(exist_ok=True)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(hub_cache), "OMP_NUM_THREADS": "2"}
        self.proc = subprocess.Popen(
            [str(cli), "serve", self.model, "--host", "127.0.0.1", "--port", str(self.port), "--device", "cpu",
             *self.extra_args], stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"transformers serve exited with {self.proc.returncode}; see {self.log_dir}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"transformers serve did not answer within {START_TIMEOUT_S} s; see {self.log_dir}")

    def stop(self) -> None:
        """SIGKILL to the server's whole process group, as a crash or an OOM kill would end it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)


def sampling_copy(model_dir: Path, folder: Path) -> Path:
    """The model folder (files linked, not copied) with do_sample on in its generation config: `transformers serve`
    samples only when the model's generation config says so, whatever temperature a request asks for."""
    folder.mkdir(parents=True, exist_ok=True)
    for item in model_dir.iterdir():
        link = folder / item.name
        if item.name != "generation_config.json" and not link.exists():
            link.symlink_to(item.resolve())
    config_file = model_dir / "generation_config.json"
    config = json.loads(config_file.read_text()) if config_file.exists() else {}
    (folder / "generation_config.json").write_text(json.dumps({**config, "do_sample": True}, indent=2))
    return folder
