"""The program's log records, as they cross to the judge (`Forward` in the candidate, `log_again` in the judge, where
pytest's caplog and the tests' own handlers see them), and the fields each carries: a name, a level, the message,
the plain values `extra=` gave it, its line and function, its format and plain arguments, and the traceback of the
exception `log.exception` attached, as text. All of it the program could as well have logged in one process."""

from __future__ import annotations

import builtins
import logging
import re

from .proxies import is_proxy

MAX_RECORDS = 200  # log records one reply carries
MAX_JOB_RECORDS = 10_000  # ... and one job
LOGGED: list = []  # in the candidate: the records of the request being served


class Forward(logging.Handler):
    """In the candidate: keeps each record that reaches the root logger for the reply."""

    def emit(self, record):
        if len(LOGGED) < MAX_RECORDS:
            # and the fields `extra=` gave it, where they are plain values (`logger.info("done", extra={"n": 2})`)
            extras = {k: v for k, v in list(vars(record).items())[:100]
                      if k not in _RECORD_FIELDS and type(k) is str and not k.startswith("_")
                      and type(v) in (str, int, float, bool, type(None)) and (type(v) is not str or len(v) <= 2000)}
            LOGGED.append([str(record.name)[:200], int(record.levelno), str(record.getMessage())[:2000],
                           dict(list(extras.items())[:20]), _record_details(record), record])


def records_out(encode, exception) -> list:
    """In the candidate: LOGGED as the reply carries it. Besides the plain fields, a record's arguments, the values
    `extra=` gave it and its exception cross as any value does (a Decimal argument, the program's PaymentError in
    `exc_info`); one that cannot cross is left out."""
    out = []
    for entry in LOGGED:
        plain, record = (entry[:5], entry[5]) if len(entry) == 6 else (entry, None)
        if isinstance(record, logging.LogRecord) and len(plain) == 5 and type(plain[4]) is dict:
            plain[4]["rich"] = _rich(record, encode, exception)
        out.append(plain)
    return out


def _rich(record, encode, exception) -> dict:
    rich = {}
    args = record.args if type(record.args) is tuple else ()
    if type(record.msg) is str and len(args) <= 20:
        try:
            rich["msg"], rich["args"] = record.msg[:2000], [encode(a) for a in args]
        except Exception:  # an argument that cannot cross: the message as logged stays
            rich.pop("msg", None)
    extras = {}
    for key, value in list(vars(record).items())[:100]:
        if key not in _RECORD_FIELDS and type(key) is str and not key.startswith("_") and len(extras) < 20:
            try:
                extras[key[:100]] = encode(value)
            except Exception:
                continue
    if extras:
        rich["extra"] = extras
    exc = record.exc_info[1] if type(record.exc_info) is tuple and len(record.exc_info) == 3 else None
    if isinstance(exc, BaseException):
        try:
            rich["exc"] = exception(exc)["e"]
        except Exception:
            pass
    return rich


_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_PLAIN_TYPES = (str, int, float, bool, type(None))


def _record_details(record) -> dict:
    """Where it was logged, its format and plain arguments, and the exception `log.exception` attached (as text)."""
    details = {"line": [int(record.lineno), str(record.funcName)[:200]]}
    args = record.args if type(record.args) is tuple else ()
    if type(record.msg) is str and len(args) <= 20 and all(type(a) in _PLAIN_TYPES for a in args):
        details["fmt"] = [record.msg[:2000], [a[:2000] if type(a) is str else a for a in args]]
    exc = record.exc_info[1] if type(record.exc_info) is tuple and len(record.exc_info) == 3 else None
    if isinstance(exc, BaseException):
        text = logging.Formatter().formatException(record.exc_info)
        details["exc"] = [type(exc).__name__[:100], str(exc)[:2000], text[-4000:]]
    return details


def _exception_for_record(name, message):
    """An exception object standing for the program's in a record's exc_info: the builtin class of that name when
    there is one (ZeroDivisionError), else Exception."""
    cls = getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = Exception
    try:
        return cls(message)
    except Exception:
        return Exception(message)


def log_again(record, decode=None) -> None:
    """In the judge: a record the program logged, handled as the tests' logging would have (caplog sees it). The
    logger that decides is the nearest one the tests' process has: no logger is made for a name the program sent."""
    if type(record) is not list or len(record) not in (3, 4, 5) or type(record[0]) is not str \
            or type(record[1]) is not int or type(record[2]) is not str:
        return
    name, level, message = record[0][:200], record[1], record[2][:2000]
    extras = record[3] if len(record) >= 4 and type(record[3]) is dict else {}
    details = record[4] if len(record) == 5 and type(record[4]) is dict else {}
    logger, parts = logging.getLogger(), name.split(".")
    for end in range(len(parts), 0, -1):
        found = logging.Logger.manager.loggerDict.get(".".join(parts[:end]))
        if isinstance(found, logging.Logger):
            logger = found
            break
    # The program's logger decided the level (the tests' levels reach the program's loggers): its record goes to the
    # handlers, as in one process a record propagates past the root's level.
    if not logger.disabled and level > logging.root.manager.disable:
        again = logging.LogRecord(name, level, "solution.py", 0, message, None, None)
        for key, value in list(extras.items())[:20]:
            if type(key) is str and key not in _RECORD_FIELDS and not key.startswith("_") \
                    and type(value) in (str, int, float, bool, type(None)):
                setattr(again, key[:100], value)
        _add_details(again, message, details)
        if decode is not None and type(details.get("rich")) is dict:
            _add_rich(again, message, details["rich"], decode)
        logger.handle(again)


def _add_rich(record, message, rich, decode) -> None:
    """In the judge: the arguments, `extra=` values and exception that crossed as values (never the program's
    objects as arguments: formatting one would run the program while the record is made)."""
    msg, args = rich.get("msg"), rich.get("args")
    if type(msg) is str and type(args) is list and len(args) <= 20 and _small_format(msg):
        try:
            values = tuple(decode(a) for a in args)
            if not any(is_proxy(v) for v in values) and msg % values == message:
                record.msg, record.args = msg, values
        except Exception:
            pass
    extra = rich.get("extra")
    if type(extra) is dict:
        for key, raw in list(extra.items())[:20]:
            if type(key) is str and key not in _RECORD_FIELDS and not key.startswith("_") \
                    and not hasattr(logging.LogRecord, key):  # (never its methods: logging would call them here)
                try:
                    setattr(record, key[:100], decode(raw))
                except Exception:
                    continue
    if "exc" in rich:
        try:
            error = decode(rich["exc"])
        except Exception:
            return
        if isinstance(error, BaseException):
            record.exc_info = (type(error), error, None)


# A conversion with a width or precision (`%5d`, `%.2f`) is formatted in the judge only when its size is small:
# `%*d` or `%1500000000d` would make one short record allocate gigabytes there.
_CONVERSION = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?(.)", re.S)


def _small_format(fmt: str) -> bool:
    return all(w != "*" and p != "*" and len(w) <= 3 and len(p) <= 3 for w, p, _ in _CONVERSION.findall(fmt))


def _add_details(record, message, details) -> None:
    line = details.get("line")
    if type(line) is list and len(line) == 2 and type(line[0]) is int and type(line[1]) is str:
        record.lineno, record.funcName = line[0], line[1][:200]
    fmt = details.get("fmt")
    if type(fmt) is list and len(fmt) == 2 and type(fmt[0]) is str and type(fmt[1]) is list \
            and len(fmt[0]) <= 2000 and len(fmt[1]) <= 20 and all(type(a) in _PLAIN_TYPES for a in fmt[1]) \
            and _small_format(fmt[0]):
        try:
            if fmt[0] % tuple(fmt[1]) == message:  # caplog.records[0].msg and .args, as the program gave them
                record.msg, record.args = fmt[0], tuple(fmt[1])
        except Exception:
            pass
    exc = details.get("exc")
    if type(exc) is list and len(exc) == 3 and all(type(part) is str for part in exc):
        error = _exception_for_record(exc[0][:100], exc[1][:2000])
        record.exc_info = (type(error), error, None)
        record.exc_text = exc[2][-4000:]  # the program's traceback, as logging formats it (caplog.text shows it)
