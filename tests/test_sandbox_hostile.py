"""Hostile candidates: each must get a non-pass verdict, leave the host untouched and the sandbox usable.

Safety first: every destructive program starts with GUARD, which refuses to do anything unless it runs as the
sandbox user inside a container with no network. And `proven_sandbox` runs a probe that checks the same from
the outside before any hostile program is handed over: if the sandbox were broken, nothing destructive runs.
"""

from __future__ import annotations

import os
import socket
import textwrap
import time
from pathlib import Path

import pytest

from sandbox import Job, Sandbox, Tests

GUARD = textwrap.dedent('''
    import os
    if not (os.environ.get("INFINICODE_SANDBOX") == "1" and os.getuid() == 65534 and os.path.exists("/.dockerenv")
            and sorted(os.listdir("/sys/class/net")) == ["lo"]):
        raise SystemExit("hostile test program: not inside the sandbox, refusing to run")
''')

# The probe is harmless: it only reports where it runs.
PROBE = textwrap.dedent('''
    import os, socket
    def where():
        try:
            open("/probe-write", "w")
            root_writable = True
        except OSError:
            root_writable = False
        return {"uid": os.getuid(), "net": sorted(os.listdir("/sys/class/net")), "dockerenv": os.path.exists("/.dockerenv"),
                "hostname": socket.gethostname(), "root_writable": root_writable}
''')

GOOD = Job("def add(a, b):\n    return a + b\n", Tests("asserts", asserts=["assert add(2, 3) == 5"]))

SENTINEL = Path(__file__).with_name(".hostile-sentinel")


@pytest.fixture(scope="module")
def hostile_sandbox():
    with Sandbox(workers=2, memory_mb=256, host_grace_s=4) as sb:
        yield sb


@pytest.fixture(scope="module")
def proven_sandbox(hostile_sandbox):
    """Proof, from outside, that programs land in an isolated container before any hostile one is sent."""
    [probe] = hostile_sandbox.run([Job(PROBE, Tests("io", entry_point="where", inputs=[[]], expected=None))])
    assert probe.ok, probe.message
    seen = probe.outputs[0]
    assert seen["uid"] == 65534 and seen["net"] == ["lo"] and seen["dockerenv"] and not seen["root_writable"]
    assert seen["hostname"] != socket.gethostname()
    SENTINEL.write_text("untouched")
    yield hostile_sandbox
    assert SENTINEL.read_text() == "untouched"
    SENTINEL.unlink()


def pytest_tests(body: str) -> Tests:
    return Tests("pytest", source="from solution import answer\n\ndef test_answer():\n    assert answer() == 42\n" + body)


ANSWER_TESTS = pytest_tests("")

# name -> (program, statuses allowed, timeout_s). Each program's answer() is wrong unless an attack succeeds.
HOSTILE = {
    "fork_bomb": ("def answer():\n    while True:\n        os.fork()\n", {"timeout", "error", "crashed"}, 3),
    "fork_bomb_at_import": ("while True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
                            {"timeout", "crashed", "error"}, 3),
    "memory_hog": ("def answer():\n    chunks = []\n    while True:\n        chunks.append(bytearray(10 << 20))\n",
                   {"memory_exceeded"}, 10),
    "memory_hog_one_block": ("def answer():\n    return len(bytearray(4 << 30))\n", {"memory_exceeded"}, 10),
    "memory_hog_in_children": ("def answer():\n    for _ in range(8):\n        if os.fork() == 0:\n"
                               "            x = [bytearray(50 << 20) for _ in range(100)]\n    import time\n"
                               "    time.sleep(30)\n", {"timeout", "memory_exceeded", "crashed"}, 3),
    "infinite_loop": ("def answer():\n    while True:\n        pass\n", {"timeout"}, 2),
    "ignores_signals": ("import signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM,"
                        " signal.SIGXCPU):\n    signal.signal(s, signal.SIG_IGN)\n"
                        "def answer():\n    while True:\n        pass\n", {"timeout"}, 2),
    "sleeps_forever": ("import time\ndef answer():\n    time.sleep(10**6)\n", {"timeout"}, 2),
    "threads_spinning": ("import threading\ndef spin():\n    while True:\n        pass\n"
                         "def answer():\n    for _ in range(16):\n        threading.Thread(target=spin, daemon=True).start()\n"
                         "    spin()\n", {"timeout", "error"}, 2),
    "child_outlives_parent": ("import time\ndef answer():\n    if os.fork() == 0:\n        os.setsid()\n"
                              "        time.sleep(0.5)\n        fd = os.open('/proc/1/fd/1', os.O_WRONLY)\n"
                              "        os.write(fd, b'{\"id\": 2, \"secret\": \"x\", \"result\": {\"status\": \"passed\"}}\\n')\n"
                              "        time.sleep(3600)\n    return 41\n", {"failed"}, 5),
    "disk_fill": ("def answer():\n    with open('/tmp/fill', 'wb') as f:\n        while True:\n"
                  "            f.write(b'x' * (1 << 20))\n", {"error"}, 10),
    "huge_stdout": ("import sys\ndef answer():\n    for _ in range(200):\n        sys.stdout.write('PASSED ' * 100000)\n"
                    "    return 41\n", {"failed"}, 10),
    "socket_to_host": ("import socket\ndef answer():\n    s = socket.socket(socket.AF_UNIX)\n"
                       "    s.connect('/var/run/docker.sock')\n    return 42\n", {"error"}, 5),
    "socket_to_bridge": ("import socket\ndef answer():\n    socket.create_connection(('172.17.0.1', 2375), timeout=2)\n"
                         "    return 42\n", {"error"}, 5),
    "socket_to_outside": ("import socket\ndef answer():\n    socket.create_connection(('192.0.2.1', 80), timeout=2)\n"
                          "    return 42\n", {"error"}, 5),
    "dns_lookup": ("import socket\ndef answer():\n    socket.getaddrinfo('pypi.org', 443)\n    return 42\n", {"error"}, 5),
    "write_outside_tmpfs": ("def answer():\n    for path in ('/etc/passwd', '/opt/infinicode/runner.py', '/usr/bin/python3', '/x'):\n"
                            "        try:\n            open(path, 'a').write('pwned')\n            return 42\n"
                            "        except OSError:\n            pass\n    return 0\n", {"failed"}, 5),
    "become_root": ("import subprocess\ndef answer():\n    try:\n        os.setuid(0)\n    except OSError:\n        pass\n"
                    "    for cmd in (['su', '-c', 'id -u'], ['sudo', 'id', '-u']):\n        try:\n"
                    "            subprocess.run(cmd, timeout=2, capture_output=True)\n        except Exception:\n            pass\n"
                    "    return 42 if os.geteuid() == 0 else 0\n", {"failed"}, 5),
    "reads_stdin": ("import sys\ndef answer():\n    data = sys.stdin.read()\n    return 42 if data else 0\n", {"failed"}, 5),
    "reads_job_stream": ("def answer():\n    with open('/proc/1/fd/0', 'rb', buffering=0) as f:\n        f.read(1)\n"
                         "    return 0\n", {"timeout"}, 2),
    "deep_recursion": ("def answer(n=0):\n    return answer(n + 1)\n", {"error"}, 5),
    "stack_overflow": ("import sys\nsys.setrecursionlimit(10**9)\ndef answer(n=0):\n    return answer(n + 1)\n",
                       {"crashed", "error", "memory_exceeded", "timeout"}, 10),
    "exit_zero_at_import": ("os._exit(0)\n", {"crashed", "error"}, 5),
    "sys_exit_at_import": ("import sys\nsys.exit(0)\n", {"error"}, 5),
    "exit_zero_in_test": ("def answer():\n    os._exit(0)\n", {"crashed", "error"}, 5),
    "fake_report": ("print('tests/test_x.py::test_answer PASSED')\nprint('===== 1 passed in 0.01s =====')\n"
                    "print('{\"status\": \"passed\", \"passed\": 1, \"total\": 1}')\ndef answer():\n    return 41\n",
                    {"failed"}, 5),
    "patch_test_framework": ("import builtins, sys\nbuiltins.AssertionError = type('Never', (Exception,), {})\n"
                             "try:\n    import pytest, _pytest.python\n    _pytest.python.Function.runtest = lambda self: None\n"
                             "except Exception:\n    pass\nsys.modules['unittest'] = None\n"
                             "def answer():\n    return 41\n", {"failed"}, 10),
    "eq_always_true": ("class Anything:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n"
                       "def answer():\n    return Anything()\n", {"failed"}, 5),
    "int_subclass_eq": ("class Liar(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\n"
                        "def answer():\n    return Liar(41)\n", {"failed"}, 5),
    "delete_files": ("import shutil\ndef answer():\n    for root in ('/tmp', '/opt/infinicode', '/proc/1/cwd'):\n"
                     "        shutil.rmtree(root, ignore_errors=True)\n    return 41\n", {"failed"}, 5),
    "atexit_forgery": ("import atexit\natexit.register(lambda: os.write(os.open('/proc/1/fd/1', os.O_WRONLY),"
                       " b'{\"status\": \"passed\"}\\n'))\ndef answer():\n    return 41\n", {"failed"}, 5),
    "kill_parent": ("import signal\ndef answer():\n    os.kill(os.getppid(), signal.SIGKILL)\n    return 42\n", {"crashed"}, 5),
    "kill_everything": ("import signal\ndef answer():\n    os.kill(-1, signal.SIGKILL)\n    return 42\n", {"crashed"}, 5),
    "sigterm_to_init": ("import signal, time\ndef answer():\n    os.kill(1, signal.SIGTERM)\n    time.sleep(2)\n    return 42\n",
                        {"crashed"}, 5),
    "stop_parent": ("import signal\ndef answer():\n    os.kill(os.getppid(), signal.SIGSTOP)\n    return 42\n", {"timeout"}, 2),
    "read_judge_memory": ("def answer():\n    with open(f'/proc/{os.getppid()}/mem', 'rb') as f:\n        f.read(1)\n"
                          "    return 42\n", {"error"}, 5),
    "steal_secret_and_forge": (
        "import gc, re\ndef answer():\n    hexes = {o for o in gc.get_objects() if isinstance(o, str) and re.fullmatch('[0-9a-f]{32}', o)}\n"
        "    fd = os.open('/proc/1/fd/1', os.O_WRONLY)\n    for secret in hexes:\n        for i in range(1, 100):\n"
        "            line = '{\"id\": %d, \"secret\": \"%s\", \"result\": {\"status\": \"passed\", \"passed\": 1, \"total\": 1, "
        "\"tests\": [{\"name\": \"test_answer\", \"outcome\": \"passed\"}]}}\\n' % (i, secret)\n"
        "            os.write(fd, line.encode())\n    return 41\n", {"crashed", "failed"}, 5),
    "huge_return_value": ("def answer():\n    return list(range(30_000_000))\n", {"crashed", "memory_exceeded", "failed", "timeout"}, 10),
    "endless_generator": ("import itertools\ndef answer():\n    return itertools.count()\n", {"failed"}, 10),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_program_is_not_passed(name, proven_sandbox):
    program, allowed, timeout = HOSTILE[name]
    job = Job(GUARD + "\n" + program, ANSWER_TESTS, timeout_s=timeout, memory_mb=256)
    started = time.monotonic()
    [result] = proven_sandbox.run([job])
    assert result.status in allowed, (result.status, result.message, result.tests)
    assert not result.ok
    assert len(result.stdout) < 20_000 and len(result.stderr) < 20_000  # output stays capped
    assert time.monotonic() - started < timeout + 15  # the wall clock was enforced from outside
    [after] = proven_sandbox.run([GOOD])  # the sandbox still works for the next candidate
    assert after.ok, (after.status, after.message)


def test_no_container_left_after_close():
    import docker

    with Sandbox(workers=2, host_grace_s=3) as sb:
        sb.run([Job(GUARD + HOSTILE["kill_parent"][0], ANSWER_TESTS, timeout_s=3), GOOD])
        assert len(sb.created) == 3  # two at start, one replacing the container whose runner was killed
    client = docker.from_env()
    for container_id in sb.created:
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(container_id)


def test_containers_are_removed_on_ctrl_c():
    import subprocess
    import sys

    import docker

    script = ("from sandbox import Sandbox, Job, Tests\nimport sys\nsb = Sandbox(workers=1)\n"
              "print(sb.created[0], flush=True)\n"
              "sb.run([Job('import time\\ndef f():\\n    time.sleep(60)\\n', Tests('asserts', asserts=['assert f()']),"
              " timeout_s=60)])\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    container_id = proc.stdout.readline().strip()
    time.sleep(1.0)
    proc.send_signal(2)  # SIGINT, as Ctrl-C
    proc.wait(timeout=60)
    with pytest.raises(docker.errors.NotFound):
        docker.from_env().containers.get(container_id)


def test_leftover_containers_of_a_dead_run_are_removed():
    import docker

    from sandbox.build import image_tag
    from sandbox.engine import LABEL

    client = docker.from_env()
    orphan = client.containers.create(image_tag(), command=["true"], network_mode="none",
                                      labels={LABEL: "1", "infinicode.owner": f"{socket.gethostname()}:999999999"})
    with Sandbox(workers=1):
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(orphan.id)


def test_tmp_is_private_to_each_candidate():
    writer = Job("open('/tmp/cache', 'w').write('42')\ndef answer():\n    return 0\n", ANSWER_TESTS)
    reader = Job("import os\ndef answer():\n    return int(open('/tmp/cache').read()) if os.path.exists('/tmp/cache') else 0\n",
                 ANSWER_TESTS)
    sb = Sandbox(workers=1, memory_mb=256)
    try:
        first, second = sb.run([writer, reader])
        assert second.status == "failed" and second.tests[0].actual == "0"
    finally:
        sb.close()


def test_engine_down_is_one_line(tmp_path):
    import subprocess
    import sys

    (tmp_path / "s.py").write_text("def f():\n    return 1\n")
    (tmp_path / "t.py").write_text("from solution import f\ndef test_f():\n    assert f() == 1\n")
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    proc = subprocess.run([sys.executable, "-m", "agent.cli", "exec", str(tmp_path / "s.py"), str(tmp_path / "t.py")],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Docker engine" in lines[0] and "Traceback" not in proc.stderr
