"""Build the sandbox image: Python, pytest and the in-container runner.

Two recipes give the same layout (python3 on PATH, the runner package in /opt/infinicode/infinicode_runner):
- online: sandbox/image/Dockerfile on the official python:3.12-slim base;
- offline: a Debian bookworm root filesystem from Debian's packages (mmdebstrap) plus the runner, imported with
  `docker import` - for machines that reach Debian's mirror but no container registry.
The tag is a hash of both recipes and the runner's files, so the image is rebuilt only when one of them changes.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from sandbox.errors import SandboxError

IMAGE_DIR = Path(__file__).parent / "image"
REPOSITORY = "infinicode-sandbox"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_PACKAGES = ["python3", "python3-pytest", "python3-numpy", "python3-tqdm", "python3-hypothesis"]
RUNNER_PACKAGE = IMAGE_DIR / "infinicode_runner"
RUNNER_PARENT = "/opt/infinicode"  # sandbox.container puts it on the container's PYTHONPATH


def _digest(*parts: bytes) -> str:
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:12]


def base_tag() -> str:
    """Python + pytest, from either recipe; changes only when a recipe does."""
    recipe = (IMAGE_DIR / "Dockerfile").read_bytes() + repr((DEBIAN_SUITE, DEBIAN_PACKAGES)).encode()
    return f"{REPOSITORY}-base:{_digest(recipe)}"


def _runner_files() -> list[Path]:
    return sorted(p for p in RUNNER_PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def image_tag() -> str:
    """The base plus the runner: rebuilt (in about a second) whenever a file of the runner changes."""
    parts = [base_tag().encode()]
    for path in _runner_files():
        parts += [str(path.relative_to(IMAGE_DIR)).encode(), path.read_bytes()]
    return f"{REPOSITORY}:{_digest(*parts)}"


def image_exists(client, tag: str) -> bool:
    import docker

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def ensure_image(client, offline: bool | None = None, force: bool = False,
                 log: Callable[[str], None] = print) -> str:
    """Return the tag of an up-to-date sandbox image, building what is missing first.

    offline=None tries the registry recipe and falls back to Debian's packages when no registry answers."""
    tag, base = image_tag(), base_tag()
    if not force and image_exists(client, tag):
        return tag
    if force or not image_exists(client, base):
        _build_base(client, base, offline, log)
    log(f"adding the runner -> {tag}")
    add_runner(client, base, tag)
    return tag


def _build_base(client, base: str, offline: bool | None, log) -> None:
    if offline is not True:
        try:
            log(f"building {base} from sandbox/image/Dockerfile (python:3.12-slim)")
            build_online(client, base)
            return
        except Exception as exc:  # no registry, or a broken base: say so, then try Debian's packages
            if offline is False:
                raise SandboxError(f"building the sandbox image failed: {_one_line(exc)}") from None
            log(f"registry build failed ({_one_line(exc)}); building from Debian packages instead")
    build_offline(client, base, log)


def build_online(client, tag: str) -> None:
    import docker

    with tempfile.TemporaryDirectory() as ctx:
        shutil.copy(IMAGE_DIR / "Dockerfile", Path(ctx) / "Dockerfile")
        try:
            client.images.build(path=ctx, tag=tag, rm=True, labels={"infinicode.recipe": "dockerfile"})
        except docker.errors.BuildError as exc:
            raise SandboxError(f"docker build failed: {_one_line(exc)}") from None


def build_offline(client, tag: str, log: Callable[[str], None] = print) -> None:
    if shutil.which("mmdebstrap") is None:
        raise SandboxError("no container registry answers and mmdebstrap is missing: install it "
                           "(apt-get install mmdebstrap) or make a registry reachable, then run "
                           "`infinicode sandbox build` again")
    with tempfile.TemporaryDirectory() as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        log(f"mmdebstrap {DEBIAN_SUITE} with {', '.join(DEBIAN_PACKAGES)} (a minute or two)")
        cmd = ["mmdebstrap", "--variant=minbase", "--quiet", f"--include={','.join(DEBIAN_PACKAGES)}",
               # Docs, man pages and apt lists are dead weight in a sandbox.
               "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
               "--customize-hook=rm -rf $1/var/lib/apt/lists/*", DEBIAN_SUITE, str(rootfs), DEBIAN_MIRROR]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SandboxError(f"mmdebstrap failed (exit {proc.returncode}): {_one_line(proc.stderr[-500:])}")
        log(f"docker import -> {tag}")
        repo, version = tag.split(":")
        client.api.import_image_from_file(str(rootfs), repository=repo, tag=version,
                                          changes=["LABEL infinicode.recipe=debian"])
    if not image_exists(client, tag):
        raise SandboxError(f"docker import did not produce {tag}")


def add_runner(client, base: str, tag: str) -> None:
    """base + the runner package under /opt/infinicode, committed as `tag` (no registry and no builder needed)."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for folder in ("opt", "opt/infinicode"):
            _add_dir(tar, folder)
        for path in _runner_files():
            relative = path.relative_to(IMAGE_DIR)
            for parent in reversed(relative.parents[:-1]):
                _add_dir(tar, f"opt/infinicode/{parent}", tar_seen=True)
            data = path.read_bytes()
            info = tarfile.TarInfo(f"opt/infinicode/{relative}")
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    container = client.containers.create(base, command=["true"], network_mode="none")
    try:
        client.api.put_archive(container.id, "/", archive.getvalue())
        repo, version = tag.split(":")
        container.commit(repository=repo, tag=version, changes=[
            'CMD ["python3", "-s", "-P", "-m", "infinicode_runner"]', f"ENV PYTHONPATH={RUNNER_PARENT}",
            "USER 65534:65534", "LABEL infinicode.sandbox.image=1"])
    finally:
        container.remove(force=True)


def _add_dir(tar: tarfile.TarFile, path: str, tar_seen: bool = False) -> None:
    if tar_seen and path in tar.getnames():
        return
    info = tarfile.TarInfo(path)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    tar.addfile(info)


def _one_line(exc) -> str:
    return " ".join(str(exc).split())[:300]
