"""Library objects of the tests that the program may use (handover.py): each kind through a fixed set of names,
run on the tests' side, as in one process (a stream they opened, a seeded generator of random numbers, a match,
a compiled pattern, a logger, a queue); and a log record of theirs, which crosses as plain values."""

from __future__ import annotations

import gzip
import io
import logging
import queue
import random
import re
import sys
import tempfile

import _pytest.capture

# Streams the tests open (a StringIO to collect output, a file in tmp_path) go as handles too: the program may use
# them as a file, through these names, and nothing else of them
STREAM_TYPES = (io.StringIO, io.BytesIO, io.TextIOWrapper, io.BufferedReader, io.BufferedWriter, io.BufferedRandom,
                io.FileIO, gzip.GzipFile, tempfile._TemporaryFileWrapper, tempfile.SpooledTemporaryFile,
                _pytest.capture.CaptureIO, _pytest.capture.TeeCaptureIO)  # (capsys's sys.stdout, handed over)
STREAM_MEMBERS = {"read", "read1", "readline", "readlines", "readinto", "write", "writelines", "getvalue", "seek",
                  "tell", "truncate", "flush", "close", "closed", "readable", "writable", "seekable", "name", "mode",
                  "encoding", "newlines"}


# numpy random generators the tests seed and hand over (`rng = np.random.default_rng(0)`): the program draws from
# the tests' own stream, as in one process, through these methods only
RANDOM_MEMBERS = {"random", "integers", "normal", "standard_normal", "uniform", "choice", "permutation", "shuffle",
                  "permuted", "binomial", "poisson", "exponential", "beta", "gamma", "multivariate_normal",
                  "bytes", "rand", "randn", "randint", "random_sample", "random_integers", "lognormal", "laplace"}


# a match the tests' re.sub hands to the program's replacement function (`re.sub(r"\w+", censor, text)`)
MATCH_MEMBERS = {"group", "groups", "groupdict", "start", "end", "span", "expand", "string", "pos", "endpos",
                 "lastindex", "lastgroup", "__getitem__"}


# the tests' `random.Random(7)`, compiled pattern and logger, handed to the program: used through these names only
PY_RANDOM_MEMBERS = {"random", "randint", "randrange", "choice", "choices", "shuffle", "sample", "uniform", "gauss",
                     "normalvariate", "lognormvariate", "expovariate", "triangular", "betavariate", "gammavariate",
                     "vonmisesvariate", "paretovariate", "weibullvariate", "getrandbits", "randbytes", "seed",
                     "getstate", "setstate"}
PATTERN_MEMBERS = {"match", "search", "fullmatch", "findall", "finditer", "sub", "subn", "split", "pattern", "flags",
                   "groups", "groupindex"}
LOGGER_MEMBERS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log",
                  "isEnabledFor", "getEffectiveLevel", "name", "level"}
QUEUE_MEMBERS = {"put", "put_nowait", "get", "get_nowait", "empty", "full", "qsize", "task_done", "maxsize"}


def library_members(obj):
    """The names the program may use of a stream, generator of random numbers, pattern, match or logger of the
    tests (None: not one of those)."""
    if type(obj) in STREAM_TYPES:
        return STREAM_MEMBERS
    if type(obj) is re.Match:
        return MATCH_MEMBERS
    if type(obj) is random.Random:
        return PY_RANDOM_MEMBERS
    if type(obj) is re.Pattern:
        return PATTERN_MEMBERS
    if type(obj) is logging.Logger:
        return LOGGER_MEMBERS
    if type(obj) in (queue.Queue, queue.LifoQueue, queue.PriorityQueue, queue.SimpleQueue):
        return QUEUE_MEMBERS
    numpy = sys.modules.get("numpy")
    if numpy is not None and type(obj) in (numpy.random.Generator, numpy.random.RandomState):
        return RANDOM_MEMBERS
    return None


def record_values(record) -> dict:
    """A log record as plain values (its exception as the text logging writes for it), for logging.makeLogRecord."""
    plain = (str, int, float, bool, type(None))
    values = {k: v for k, v in list(vars(record).items())[:100] if type(k) is str and type(v) in plain}
    args = record.args if type(record.args) is tuple else ()
    if type(record.msg) is str and all(type(a) in plain for a in args):
        values["args"] = args
    else:
        values["msg"], values["args"] = record.getMessage(), ()
    if record.exc_info and not record.exc_text:
        values["exc_text"] = logging.Formatter().formatException(record.exc_info)
    return values
