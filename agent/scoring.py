"""Scoring a candidate: tests from the sandbox, a tree-sitter syntax check, BLEU against a reference, length.

Ranking rule (one rule, used everywhere candidates are compared):

1. tests: the larger fraction of tests passed wins (a candidate that passes all of them is a solution);
2. syntax: a candidate that parses beats one that does not;
3. BLEU against the reference (when the task has one) only breaks the remaining ties: it rewards code that
   *looks* like the reference, which is no evidence that it works, so it never outranks a test;
4. shorter code (fewer code tokens) wins what is still tied.

Candidates still equal after that keep their order (earlier first): `sorted(..., key=rank_key)` is stable.

`normalize_code` is the one notion of "the same code" (no comments, docstrings or layout): the loop skips a
candidate that repeats an earlier one, and fine-tuning keeps one copy of each accepted solution.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from agent.parsing import parse_python

# Code tokens for BLEU and length: strings (with prefixes, triple quotes), numbers, identifiers,
# multi-character operators before single ones. Comments and whitespace are dropped.
_TOKEN_RE = re.compile(r"""
    (?P<comment>\#[^\r\n]*)
  | (?P<string>(?:[rRbBuUfF]{0,2})(?:'''[\s\S]*?(?:'''|$(?![\s\S]))|\"\"\"[\s\S]*?(?:\"\"\"|$(?![\s\S]))
        |'(?:\\.|[^'\\\r\n])*'?|"(?:\\.|[^"\\\r\n])*"?))
  | (?P<number>(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+
        |(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?[jJ]?))
  | (?P<name>[^\W\d]\w*)
  | (?P<op>\*\*=|//=|>>=|<<=|\.\.\.|->|:=|[-+*/%&|^@<>=!]=|\*\*|//|<<|>>|[-+*/%&|^~@<>=.,:;()\[\]{}])
  | (?P<space>\s+)
  | (?P<other>.)
""", re.VERBOSE)


def code_tokens(code: str) -> list[str]:
    """Split code into BLEU tokens: identifiers, numbers, operators and whole string literals (no comments)."""
    out = []
    for m in _TOKEN_RE.finditer(code):
        kind = m.lastgroup
        if kind in ("comment", "space"):
            continue
        out.append(m.group())
    return out


def normalize_code(code: str) -> str:
    """Canonical text for duplicate detection: no comments, no docstrings, one formatting.

    Code that parses is unparsed from its AST (docstrings removed); code that does not parse keeps its tokens
    without comments and blank lines, so two broken candidates that differ only there still match.
    """
    try:
        tree = parse_python(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _normalize_tokens(code)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    try:
        return ast.unparse(tree)
    except (ValueError, RecursionError):
        return _normalize_tokens(code)


def _normalize_tokens(code: str) -> str:
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING}
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type in skip:
                continue
            out.append(tok.string if tok.type not in (tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE)
                       else {tokenize.INDENT: "<in>", tokenize.DEDENT: "<de>", tokenize.NEWLINE: "\n"}[tok.type])
    except (tokenize.TokenError, SyntaxError, IndentationError):
        lines = [line.split("#", 1)[0].rstrip() for line in code.split("\n")]
        return "\n".join(line for line in lines if line.strip())
    return " ".join(out)


def bleu(candidate: str, reference: str) -> float:
    """Sentence BLEU (0-100) of candidate against reference on code tokens."""
    import sacrebleu

    def joined(code: str) -> str:
        # tokenize='none' splits on spaces, so spaces inside string literals must not split a token
        return " ".join(t.replace(" ", "\u2581").replace("\n", "\u21b5").replace("\t", "\u2192")
                        for t in code_tokens(code))

    hyp, ref = joined(candidate), joined(reference)
    if not hyp or not ref:
        return 0.0
    return float(sacrebleu.sentence_bleu(hyp, [ref], tokenize="none").score)


@dataclass
class SyntaxReport:
    valid: bool
    errors: list[tuple[int, int]] = field(default_factory=list)  # (line, col), both 1-based, as editors show them
    message: str = ""  # CPython's description of the first error, e.g. "'(' was never closed"

    def positions(self) -> str:
        return ", ".join(f"{line}:{col}" for line, col in self.errors)


@lru_cache(maxsize=1)
def _parser():
    import tree_sitter
    import tree_sitter_python

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_python.language()))


MAX_SYNTAX_ERRORS = 10


def check_syntax(code: str) -> SyntaxReport:
    """Parse with tree-sitter and report its ERROR / MISSING nodes as (line, col).

    tree-sitter starts an ERROR node where it lost track (often the start of the enclosing `def`) and its
    grammar is more forgiving than CPython's in a few places (a Python 2 `print x`, an empty block), so the
    code is also parsed with `ast.parse` (parsing only, nothing runs): CPython's error position joins the
    list, replacing a tree-sitter ERROR region that contains it, and its message is kept, since it is the
    most precise evidence a model can get.
    """
    tree = _parser().parse(code.encode("utf-8"))
    spans: list[tuple[tuple[int, int], tuple[int, int], bool]] = []  # (start, end, is_missing)
    if tree.root_node.has_error:
        stack = [tree.root_node]
        while stack and len(spans) < MAX_SYNTAX_ERRORS:
            node = stack.pop()
            if node.is_error or node.is_missing:
                spans.append((_position(code, node.start_point), _position(code, node.end_point), node.is_missing))
                continue  # the children of an ERROR node repeat the same problem
            if node.has_error:
                stack.extend(reversed(node.children))
        if not spans:  # has_error with no visible node: point at the start
            spans.append(((1, 1), (1, 1), False))
    message, precise = "", None
    try:
        parse_python(code)
    except SyntaxError as exc:
        precise, message = (exc.lineno or 1, max(exc.offset or 1, 1)), exc.msg
    except (ValueError, RecursionError, MemoryError) as exc:
        precise, message = (1, 1), exc.__class__.__name__
    errors = [start for start, end, missing in spans
              # an ERROR region around CPython's position is the same problem, located less precisely
              if missing or precise is None or not (start <= precise <= end)]
    if precise is not None:
        errors.append(precise)
    return SyntaxReport(valid=not errors, errors=sorted(set(errors)), message=message)


def _position(code: str, point) -> tuple[int, int]:
    """tree-sitter points are 0-based (row, byte column); convert to a 1-based (line, character column)."""
    row, byte_col = point.row, point.column
    lines = code.split("\n")
    line = lines[row] if row < len(lines) else ""
    col = len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))
    return row + 1, col + 1


@dataclass
class Score:
    passed: int
    total: int
    status: str  # the sandbox's verdict (passed, failed, error, syntax_error, timeout, memory_exceeded, crashed)
    syntax_valid: bool
    syntax_errors: list[tuple[int, int]]
    bleu: float | None  # None when the task has no reference
    length: int  # code tokens

    @property
    def fraction(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def solved(self) -> bool:
        return self.status == "passed" and self.total > 0 and self.passed == self.total

    def rank_key(self) -> tuple:
        """Sort key, best first: tests, then syntax, then BLEU, then shorter (see module doc)."""
        return (-self.fraction, not self.syntax_valid, -(self.bleu or 0.0), self.length)

    def summary(self) -> str:
        parts = [f"{self.passed}/{self.total} tests", "syntax ok" if self.syntax_valid
                 else f"syntax errors at {', '.join(f'{line}:{col}' for line, col in self.syntax_errors)}"]
        if self.bleu is not None:
            parts.append(f"BLEU {self.bleu:.1f}")
        parts.append(f"{self.length} tokens")
        return ", ".join(parts)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["syntax_errors"] = [list(p) for p in self.syntax_errors]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Score:
        d = dict(d)
        d["syntax_errors"] = [tuple(p) for p in d.get("syntax_errors", [])]
        return cls(**d)


def score_candidate(code: str, result, reference: str | None = None) -> Score:
    """Score one candidate from its code and its sandbox `RunResult` (or a dict of one)."""
    if isinstance(result, dict):
        status, passed, total = result["status"], result["passed"], result["total"]
    else:
        status, passed, total = result.status, result.passed, result.total
    syntax = check_syntax(code)
    return Score(
        passed=passed, total=total, status=status, syntax_valid=syntax.valid, syntax_errors=syntax.errors,
        bleu=bleu(code, reference) if reference else None, length=len(code_tokens(code)),
    )


def rank(items: list, score_of=lambda item: item) -> list:
    """Items sorted best first by the ranking rule; `score_of(item)` gives each item's `Score`."""
    return sorted(items, key=lambda item: score_of(item).rank_key())
