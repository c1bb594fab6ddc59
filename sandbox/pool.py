"""Warm sandbox containers and the `Sandbox` API that runs candidates in them.

Each worker is one long-lived container with the runner (the package sandbox/image/infinicode_runner) as its main
process; jobs go in as JSON lines on the container's stdin and verdicts come back on its stdout, each tagged with a
fresh random secret. A worker is replaced after `recycle_after` runs or after anything suspicious (timeout, crash,
memory, leftover processes, a reply that does not match).
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import secrets
import select
import socket
import struct
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from sandbox.build import ensure_image, image_exists, image_tag
from sandbox.container import container_settings
from sandbox.engine import connect, remove_leftovers
from sandbox.errors import SandboxError
from sandbox.image.infinicode_runner.codec import decode_value, encode_value
from sandbox.results import TEST_KINDS, Job, RunResult, Tests

JUDGE_MEMORY_MB = 160  # the runner's own share of a container's memory, on top of the candidate's limit
HOST_GRACE_S = 15.0  # how long past a job's timeout the host waits before it kills the container itself


class ProtocolError(Exception):
    """The container answered something that is not the reply we asked for."""


class Worker:
    """One warm container and the stream to its runner."""

    def __init__(self, client, image: str, memory_mb: int, cpus: float, pids: int, tmpfs_mb: int):
        self.memory_mb = memory_mb
        self.runs = 0
        self.lost = False  # the container's stream ended mid-run (it stopped, or the engine dropped us)
        self._next_id = 0
        self._buffer = b""
        self.container = client.containers.create(**container_settings(
            image, memory_mb + JUDGE_MEMORY_MB, cpus=cpus, pids=pids, tmpfs_mb=tmpfs_mb))
        try:
            attached = self.container.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            self._sock = getattr(attached, "_sock", attached)
            self.container.start()
            self.call({"op": "ping"}, timeout=30)
        except BaseException:
            self.remove()
            raise

    # -- the multiplexed attach stream: 8-byte headers (stream, size), stdout frames carry our lines
    def _read_line(self, deadline: float) -> bytes:
        while b"\n" not in self._buffer:
            header = self._recv_exact(8, deadline)
            stream, size = header[0], struct.unpack(">I", header[4:])[0]
            payload = self._recv_exact(size, deadline)
            if stream == 1:
                self._buffer += payload
            if len(self._buffer) > 256 << 20:
                raise ProtocolError("the runner's reply is too large")
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def _recv_exact(self, n: int, deadline: float) -> bytes:
        data = b""
        while len(data) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self._sock], [], [], remaining)
            if not ready:
                continue
            chunk = self._sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def call(self, message: dict, timeout: float) -> dict:
        """Send one request and wait for the reply carrying its id and secret."""
        self._next_id += 1
        message = {**message, "id": self._next_id, "secret": secrets.token_hex(16)}
        self._sock.sendall(json.dumps(message).encode() + b"\n")
        deadline = time.monotonic() + timeout
        line = self._read_line(deadline)
        try:
            reply = json.loads(line)
        except ValueError:
            raise ProtocolError("the runner's reply is not JSON") from None
        if not isinstance(reply, dict) or reply.get("id") != message["id"] or reply.get("secret") != message["secret"]:
            raise ProtocolError("a reply without this run's secret reached the host (forgery attempt?)")
        return reply

    def run(self, job: Job, grace_s: float = HOST_GRACE_S) -> tuple[RunResult, bool]:
        """Run one job; returns the result and whether this container must be replaced."""
        self.runs += 1
        try:
            reply = self.call({"op": "run", "job": _job_message(job)}, timeout=job.budget_s + grace_s)
            raw = reply["result"]
            suspicious = bool(raw.pop("suspicious", False))
            if raw.get("outputs") is not None:
                raw["outputs"] = decode_value(raw["outputs"])
            return RunResult.from_dict(raw), suspicious
        except TimeoutError:
            return _whole_run(job, "timeout", f"no verdict within {job.timeout_s} s; the container was killed"), True
        except (EOFError, OSError):
            self.lost = True
            return _whole_run(job, "crashed", self._why_lost()), True
        except (ProtocolError, KeyError, TypeError, ValueError) as exc:
            return _whole_run(job, "crashed", f"the sandbox reply was rejected: {exc}"), True

    def _why_lost(self) -> str:
        """What the engine says became of a container whose stream ended mid-run."""
        try:
            self.container.reload()
            state = self.container.attrs.get("State") or {}
        except Exception:
            return "the sandbox container stopped during the run"
        if state.get("OOMKilled"):
            return "the sandbox container ran out of memory and stopped during the run"
        if state.get("Running"):
            return "the connection to the sandbox container broke during the run"
        return f"the sandbox container stopped during the run (its runner exited with status {state.get('ExitCode')})"

    def remove(self) -> None:
        try:
            # shutdown wakes a worker thread waiting on this socket in select(); close() alone leaves it waiting
            # until the job's deadline, which holds up interpreter exit after Ctrl-C or SIGTERM
            self._sock.shutdown(socket.SHUT_RDWR)
        except Exception:
            pass
        try:
            self._sock.close()
        except Exception:
            pass
        try:
            self.container.remove(force=True)
        except Exception:
            pass  # already gone


def _job_message(job: Job) -> dict:
    tests = job.tests.to_dict()
    if job.tests.kind == "io":
        # Tagged encoding keeps tuples, sets and non-string dict keys intact across JSON.
        tests["inputs"] = encode_value([list(args) for args in (job.tests.inputs or [])])
        tests["expected"] = None if job.tests.expected is None else encode_value(list(job.tests.expected))
    return {"program": job.program, "tests": tests, "timeout_s": float(job.timeout_s),
            "budget_s": float(job.budget_s), "memory_mb": int(job.memory_mb)}


def _whole_run(job: Job, status: str, message: str) -> RunResult:
    return RunResult(status=status, passed=0, total=0, tests=[], duration_s=job.budget_s, message=message)


def _check_job(job: Job) -> None:
    if not isinstance(job.program, str):
        raise SandboxError("a job's program must be source text (str)")
    if not isinstance(job.tests, Tests) or job.tests.kind not in TEST_KINDS:
        raise SandboxError(f"a job's tests must be sandbox.Tests with kind {', '.join(TEST_KINDS)}")
    if job.tests.kind in ("humaneval", "io") and not job.tests.entry_point:
        raise SandboxError(f"{job.tests.kind} tests need an entry_point")
    if job.tests.kind == "stdio" and not job.tests.cases:
        raise SandboxError("stdio tests need cases: [{\"stdin\": ..., \"stdout\": ...}]")
    if job.tests.kind == "io" and job.tests.time_limits is not None and \
            len(job.tests.time_limits) != len(job.tests.inputs or []):
        raise SandboxError("io tests need one time limit per input")
    if not (0 < job.timeout_s <= 3600) or not (16 <= job.memory_mb <= 65536):
        raise SandboxError("timeout_s must be in (0, 3600] and memory_mb in [16, 65536]")


class Sandbox:
    """Runs candidate programs against tests in warm, locked-down Docker containers.

    >>> with Sandbox() as sb:
    ...     [result] = sb.run([Job("def add(a, b): return a + b", Tests("asserts", asserts=["assert add(1, 2) == 3"]))])
    """

    def __init__(self, workers: int | None = None, memory_mb: int = 512, cpus: float = 1.0, pids: int = 64,
                 tmpfs_mb: int = 64, recycle_after: int = 200, image: str | None = None, build: bool = True,
                 host_grace_s: float = HOST_GRACE_S, log=lambda msg: None):
        self.client = connect()
        remove_leftovers(self.client)
        if image is None:
            if build:
                image = ensure_image(self.client, log=log)
            else:
                image = image_tag()
                if not image_exists(self.client, image):
                    raise SandboxError(f"the sandbox image {image} is missing: run `infinicode sandbox build`")
        self.image = image
        self.workers = workers or max(1, os.cpu_count() or 1)
        self.memory_mb, self.cpus, self.pids, self.tmpfs_mb = memory_mb, cpus, pids, tmpfs_mb
        self.recycle_after, self.host_grace_s = recycle_after, host_grace_s
        self._idle: queue.Queue[Worker] = queue.Queue()
        self._all: set[Worker] = set()
        self.created: list[str] = []  # ids of every container this sandbox started (for audits and tests)
        self._lock = threading.Lock()
        self._closed = False
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="sandbox")
        atexit.register(self.close)
        # Start the containers side by side: the first jobs should not wait for them one by one.
        with ThreadPoolExecutor(self.workers) as starter:
            for worker in starter.map(lambda _: self._new_worker(self.memory_mb), range(self.workers)):
                self._idle.put(worker)

    def _new_worker(self, memory_mb: int) -> Worker:
        if self._closed:
            raise SandboxError("the sandbox is closed")
        worker = Worker(self.client, self.image, memory_mb, self.cpus, self.pids, self.tmpfs_mb)
        with self._lock:
            self._all.add(worker)
            self.created.append(worker.container.id)
        return worker

    def _retire(self, worker: Worker) -> None:
        with self._lock:
            self._all.discard(worker)
        worker.remove()

    def _run_job(self, job: Job) -> RunResult:
        worker = self._idle.get()
        try:
            if job.memory_mb > worker.memory_mb:  # this job needs a bigger container
                self._retire(worker)
                worker = self._new_worker(max(job.memory_mb, self.memory_mb))
            result, suspicious = worker.run(job, self.host_grace_s)
            if worker.lost:
                # Once more on a fresh container: an engine hiccup must not become a verdict. A program that kills
                # its container on purpose does it again, and gets the same `crashed`.
                self._retire(worker)
                worker = self._new_worker(max(job.memory_mb, self.memory_mb))
                result, suspicious = worker.run(job, self.host_grace_s)
            if suspicious or worker.runs >= self.recycle_after:
                self._retire(worker)
                worker = self._new_worker(self.memory_mb)
            return result
        except BaseException:
            self._retire(worker)
            worker = None if self._closed else self._new_worker(self.memory_mb)
            raise
        finally:
            if worker is not None:
                self._idle.put(worker)

    def submit(self, job: Job) -> Future:
        """Queue one job; the future's result is its RunResult."""
        _check_job(job)
        if self._closed:
            raise SandboxError("the sandbox is closed")
        return self._executor.submit(self._run_job, job)

    def run(self, jobs: list[Job]) -> list[RunResult]:
        """Run jobs in parallel on the warm containers; results come back in the order of `jobs`."""
        futures = [self.submit(job) for job in jobs]
        try:
            return [f.result() for f in futures]
        except KeyboardInterrupt:
            # Ctrl-C: remove the containers now; interpreter exit would first wait for the busy worker threads.
            self.close()
            raise

    def close(self) -> None:
        """Stop everything and remove every container of this sandbox (also called at exit and on Ctrl-C)."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.remove()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_tests(program: str, tests: Tests, timeout_s: float = 10.0, memory_mb: int = 512, **sandbox_kw) -> RunResult:
    """Run one program against its tests in a fresh sandbox (convenient; a `Sandbox` kept open is faster)."""
    with Sandbox(workers=1, memory_mb=memory_mb, **sandbox_kw) as sb:
        return sb.run([Job(program, tests, timeout_s, memory_mb)])[0]
