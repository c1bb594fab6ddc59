"""SIGTERM (timeout, CI cancels, docker stop, Kubernetes) cleans up like Ctrl-C: the CLI's containers are removed.

Each test starts the real `infinicode` CLI in a subprocess with a job that sleeps in a real container, waits until
that container exists, sends the signal and checks that the process ended with the conventional code and left no
container behind.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

SLOW_SPEC = '''
name = "slow"
description = "Return 1, slowly."
entry_point = "slow"
signature = "def slow() -> int"
reference = """
import time

def slow() -> int:
    time.sleep(120)
    return 1
"""

[tests]
asserts = ["assert slow() == 1"]

[limits]
timeout_s = 120
'''


def _containers_of(pid: int) -> list[str]:
    """Ids of the sandbox containers owned by process `pid` (one listing call: containers of other processes may
    vanish while it runs)."""
    import docker

    from sandbox.engine import LABEL

    owner = f"{socket.gethostname()}:{pid}"
    listed = docker.from_env().api.containers(all=True, filters={"label": [LABEL, f"infinicode.owner={owner}"]})
    return [c["Id"] for c in listed]


def _start_and_signal(args: list[str], signum: int, tmp_path: Path) -> tuple[int, list[str], str]:
    """Run the CLI; once its container exists and the job had time to start, send `signum`.
    Returns (exit code, ids of the containers seen before the signal, stderr)."""
    proc = subprocess.Popen([sys.executable, "-m", "infinicode.cli", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        seen: list[str] = []
        while time.monotonic() < deadline and not seen:
            assert proc.poll() is None, proc.communicate()
            seen = _containers_of(proc.pid)
            time.sleep(0.2)
        assert seen, "the CLI never started a sandbox container"
        time.sleep(3.0)  # the job is now sleeping inside the container
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
        return proc.returncode, seen, stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _assert_gone(container_ids: list[str]) -> None:
    import docker

    client = docker.from_env()
    for container_id in container_ids:
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(container_id)


def test_sigterm_to_bench_removes_its_containers_and_exits_143(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "slow.toml").write_text(SLOW_SPEC, encoding="utf-8")
    code, seen, stderr = _start_and_signal(["bench", str(specs), "--canonical", "--workers", "1",
                                            "--out", str(tmp_path / "out")], signal.SIGTERM, tmp_path)
    assert code == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr, stderr
    assert "stopped (SIGTERM)" in stderr and "the same command resumes" in stderr
    _assert_gone(seen)


def test_sigterm_to_exec_removes_its_container(tmp_path):
    (tmp_path / "solution.py").write_text("import time\n\ndef slow():\n    time.sleep(120)\n    return 1\n")
    (tmp_path / "tests.py").write_text("from solution import slow\n\ndef test_slow():\n    assert slow() == 1\n")
    code, seen, stderr = _start_and_signal(["exec", str(tmp_path / "solution.py"), str(tmp_path / "tests.py"),
                                            "--timeout", "120"], signal.SIGTERM, tmp_path)
    assert code == 128 + signal.SIGTERM, stderr
    _assert_gone(seen)


def test_ctrl_c_to_bench_still_removes_its_containers(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "slow.toml").write_text(SLOW_SPEC, encoding="utf-8")
    code, seen, stderr = _start_and_signal(["bench", str(specs), "--canonical", "--workers", "1",
                                            "--out", str(tmp_path / "out")], signal.SIGINT, tmp_path)
    assert code == 128 + signal.SIGINT, stderr  # as click reports Ctrl-C: 130
    assert "stopped (Ctrl-C)" in stderr
    _assert_gone(seen)
