"""How the candidate describes the program's exceptions to the judge: arguments, message, the chain (`raise ...
from err`), notes, a library exception's fields, and a traceback of the program's own frames for feedback.

This runs in the candidate process, so it is as untrusted as the program; the judge rebuilds what it receives."""

from __future__ import annotations

import traceback

from . import codec as wire

_PLAIN = wire.Codec()


def describe(side, exc, data, refs, depth):
    """Add the exception's parts to data, the handle the candidate sends for it."""
    args = exc.args if type(exc.args) is tuple else ()
    data["a"] = [side.encode_any(a, refs, depth + 1) for a in args]
    data["m"] = safe_str(exc)
    if depth < 8:  # the chain the tests may look at (`raise ... from err`), not a cycle without end
        if isinstance(exc.__cause__, BaseException):
            data["cause"] = side.encode_any(exc.__cause__, refs, depth + 1)
        if isinstance(exc.__context__, BaseException) and not exc.__suppress_context__:
            data["context"] = side.encode_any(exc.__context__, refs, depth + 1)
    if exc.__suppress_context__:
        data["quiet"] = True  # `raise ... from None`
    notes = getattr(exc, "__notes__", None)
    if type(notes) is list:
        data["notes"] = [safe_str(note)[:1000] for note in notes[:20]]
    if type(exc).__module__ not in ("solution", "__main__"):  # a library's exception, rebuilt in the judge
        fields = library_fields(exc)
        if fields:
            data["x"] = fields


def library_fields(exc):
    """The plain values a library exception holds besides its arguments (OSError.filename, JSONDecodeError.pos,
    CalledProcessError.stderr), which rebuilding it from its arguments would lose."""
    names = [n for n in list(getattr(exc, "__dict__", {}))[:20] if type(n) is str and not n.startswith("_")]
    if isinstance(exc, OSError):
        names += ["filename", "filename2"]
    fields = {}
    for name in names:
        try:
            value = getattr(exc, name)
            if value is not None or name not in ("filename", "filename2"):  # unset: str() stays the message
                fields[name] = _PLAIN.encode(value)  # values only: no handles
        except Exception:
            continue
    return fields


def safe_str(obj):
    try:
        return str(obj)[:2000]
    except BaseException:
        return f"<{type(obj).__name__}>"


def trimmed_traceback(exc):
    """Only the program's own frames (solution.py), so feedback shows what the model wrote."""
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "solution.py"]
        lines = traceback.format_list(frames[-8:]) + traceback.format_exception_only(type(exc), exc)
        return "".join(lines)[-4000:]
    except BaseException:
        return ""
