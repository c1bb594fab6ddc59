"""When a model's answer is complete, so sampling can stop there instead of running to the token cap.

Small models keep writing after the answer: a second code block, usage examples, prints and asserts, prose. Every
backend checks `answer_end` as text arrives (agent/provider/hf.py per decoding step, a server's answer once it
is back) and cuts the answer where it returns a position. The rule is conservative: it stops only where
`agent.extract` would drop what follows anyway.

- A closed ``` fence whose block defines what the task asks for ends the answer (just after the fence line).
- Outside a whole-program task, a column-0 line that only uses the code (`print(`, `assert `, `if __name__`,
  a `>>>` example, a `# Test`/`# Example`/`# Usage` comment) after the entry point's `def`/`class` ends the answer
  (at that line's start). In a whole program, top-level prints and `if __name__` are the program.
- A column-0 `def`/`class` of the entry point after its first one (the model starting over) ends the answer at
  that line, once the first one compiles: extraction keeps the first complete definition and drops a restart and
  all after it.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Sequence

from agent.extract import PROGRAM, compiles

_FENCE = re.compile(r"^\s*```")
_USAGE = re.compile(r"^(?:print\(|assert\b|if __name__\b|>>>|#\s*(?:test|example|usage|check|driver)\b)", re.I)


def answer_end(text: str, target: str | Sequence[str] | None, prefix: str = "") -> int | None:
    """Where the answer in `text` is complete (an offset into `text`), or None while it is not.

    `prefix` is what the model continued (a final assistant message): a fence it opened counts as open.
    `target` is what the code must define (`agent.extract.extraction_target`).
    """
    names = [target] if isinstance(target, str) else [n for n in target or [] if n]
    program = names == [PROGRAM]
    main = None if program or not names else names[0]
    defines = re.compile(rf"^\s*(?:async\s+def|def|class)\s+{re.escape(main)}\b") if main else None
    whole = prefix + text
    inside, block_defines, seen_main, first = False, False, False, 0
    offset = 0
    for line in whole.splitlines(keepends=True):
        start, offset = offset, offset + len(line)
        if not line.endswith("\n"):
            break  # a line still being written decides nothing
        if _FENCE.match(line):
            if inside and (block_defines or defines is None) and offset > len(prefix):
                return offset - len(prefix)
            inside, block_defines = not inside, False
            continue
        if defines is not None and defines.match(line):
            restart = seen_main and line[0] not in " \t" and start >= len(prefix)
            if restart and compiles(textwrap.dedent(whole[first:start])):
                return start - len(prefix)  # the entry point, complete, written again from its first line
            if not seen_main:
                first = start
            block_defines = seen_main = True
        elif seen_main and not program and _USAGE.match(line) and start >= len(prefix):
            return start - len(prefix)
    return None


def answer_stopper(target: str | Sequence[str] | None, prefix: str = "") -> Callable[[str], int | None]:
    """`answer_end` bound to one prompt: what the backends call with the text generated so far."""
    return lambda text: answer_end(text, target, prefix)


def cut_answer(text: str, stop_when: Callable[[str], int | None] | None) -> tuple[str, bool]:
    """The answer cut where `stop_when` says it is complete, and whether it was cut."""
    end = stop_when(text) if stop_when else None
    return (text[:end], True) if end is not None else (text, False)
