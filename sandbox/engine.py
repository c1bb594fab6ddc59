"""Reaching the Docker engine, with one line that says what to do when it does not answer."""

from __future__ import annotations

import os
import socket

from sandbox.errors import SandboxError

LABEL = "infinicode.sandbox"
HOW_TO_START = ("start it (Linux: `sudo systemctl start docker`, or `sudo dockerd &`; macOS/Windows: open "
                "Docker Desktop) or point DOCKER_HOST at a running engine; `scripts/bootstrap.sh` does this on Debian")


def connect():
    """A docker SDK client for a live engine, or SandboxError naming the engine and how to start it."""
    try:
        import docker
    except ImportError:
        raise SandboxError("the docker Python SDK is missing: pip install docker") from None
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:  # DockerException, requests' ConnectionError, PermissionError...
        reason = " ".join(str(exc).split())[:160]
        raise SandboxError(f"cannot reach the Docker engine at {where} ({reason}): {HOW_TO_START}") from None
    return client


def owner_tag() -> str:
    """Who started a container: host and pid, so a later run can tell leftovers of a dead process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def remove_leftovers(client) -> int:
    """Remove sandbox containers whose owning process on this host is gone (a crashed earlier run)."""
    removed = 0
    host = socket.gethostname()
    # sparse: the listing's own data, no inspect per container (another run may remove one between the two)
    for container in client.containers.list(all=True, sparse=True, filters={"label": LABEL}):
        owner = (container.attrs.get("Labels") or {}).get("infinicode.owner", "")
        owner_host, _, pid = owner.rpartition(":")
        if owner_host == host and pid.isdigit() and _alive(int(pid)):
            continue
        try:
            container.remove(force=True)
            removed += 1
        except Exception:
            pass  # already gone, or being removed by its owner
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
