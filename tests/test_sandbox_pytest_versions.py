"""The judge under the pytest a user's image gets (sandbox/build.py).

The offline recipe, which CI and this project's machines use, installs Debian's pytest (7.2); the registry recipe
installs pytest's latest release from PyPI (8 or 9). The judge reaches into pytest's internals (monkeypatch's undo
records, fixture setup, collection), so it must work under both: under pytest 8 and later it did not even start
(`_pytest.monkeypatch.notset` is gone). Here the base image gets the pytest this project's virtual environment has
(a current release; pure Python, the same minor Python), and the semantics and hostile tables run on it.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from sandbox import Job, Sandbox, Tests
from sandbox.build import add_runner, base_tag, image_exists
from tests.test_sandbox_hostile import HOSTILE_CHANNELS, proven
from tests.test_sandbox_semantics import CASES, check_case, describe

PACKAGES = ("pytest", "_pytest", "pluggy", "iniconfig", "packaging", "pygments", "py.py")
SITE = "usr/local/lib/python3.11/dist-packages"  # before Debian's own dist-packages on sys.path


def _host_pytest_archive() -> bytes:
    site = Path(pytest.__file__).resolve().parents[1]
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for name in PACKAGES:
            path = site / name
            if path.exists():
                tar.add(path, arcname=f"{SITE}/{name}",
                        filter=lambda info: None if "__pycache__" in info.name else info)
    return archive.getvalue()


@pytest.fixture(scope="module")
def current_pytest_sandbox():
    import docker

    client = docker.from_env()
    base = base_tag()
    if not image_exists(client, base):
        pytest.fail(f"the sandbox base image {base} is missing: run `infinicode sandbox build`")
    container = client.containers.create(base, command=["true"], user="0", network_mode="none")
    try:
        client.api.put_archive(container.id, "/", _host_pytest_archive())
        container.commit(repository="infinicode-sandbox-test", tag="base-current-pytest")
    finally:
        container.remove(force=True)
    tag = "infinicode-sandbox-test:current-pytest"
    add_runner(client, "infinicode-sandbox-test:base-current-pytest", tag)
    with Sandbox(workers=2, memory_mb=256, image=tag, build=False) as sb:
        [probe] = sb.run([Job("import pytest\nVERSION = pytest.__version__\n",
                              Tests(kind="asserts", asserts=[f"assert VERSION == {pytest.__version__!r}"]))])
        assert probe.status == "passed", f"the image does not run pytest {pytest.__version__}: {describe(probe)}"
        with proven(sb):  # isolated, before any hostile program is sent
            yield sb


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_semantics_under_the_current_pytest(case, current_pytest_sandbox):
    check_case(case, current_pytest_sandbox)


def test_hostile_channels_under_the_current_pytest(current_pytest_sandbox):
    names = list(HOSTILE_CHANNELS)
    jobs = [Job(HOSTILE_CHANNELS[n][0], Tests(kind="pytest", source=HOSTILE_CHANNELS[n][1]),
                timeout_s=HOSTILE_CHANNELS[n][3], memory_mb=256) for n in names]
    results = current_pytest_sandbox.run(jobs)
    wrong = [(n, r.status, r.message[:200]) for n, r in zip(names, results, strict=True)
             if r.status not in HOSTILE_CHANNELS[n][2]]
    assert not wrong, wrong
