"""What every model backend offers the loop: n sampled answers for chat messages, and token counting.

Backends (agent/provider/hf.py in-process, agent/provider/openai_compat.py over HTTP) return raw text; getting
the code out of it is the loop's job (agent/extract.py), so every backend is judged on the same extraction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from agent.errors import UserError

FINISH_REASONS = ("stop", "eos", "length")  # a stop string, the model's end token, max_new_tokens


@dataclass
class Sample:
    text: str  # what the model wrote, cut before the first stop string
    prompt_tokens: int
    completion_tokens: int  # tokens generated for this candidate (up to and including its stop or end token)
    finish_reason: str = "length"  # one of FINISH_REASONS

    def to_dict(self) -> dict:
        return asdict(self)


class Provider:
    """A model that samples candidates. Subclasses set `name` and `context_length` and implement the methods."""

    name: str = "model"
    context_length: int = 2048  # tokens the model reads: prompt plus completion

    def sample(self, messages: list[dict], n: int = 4, temperature: float = 0.8, top_p: float = 0.95,
               max_new_tokens: int = 384, stop: list[str] | str | None = None,
               seed: int | None = 0, stop_when: Callable[[str], int | None] | None = None) -> list[Sample]:
        """n answers to `messages` (role system/user/assistant; a final assistant message is continued).
        `stop_when(text)` says where an answer is complete (agent/stopping.py): the answer is cut there, and
        backends that can stop a sequence mid-generation do so."""
        raise NotImplementedError

    batches_prompts = False  # whether sample_prompts reads its prompts together (then callers send them at once)

    def sample_prompts(self, prompts: list[tuple[list[dict], int, int | None, Callable | None]],
                       temperature: float = 0.8, top_p: float = 0.95, max_new_tokens: int = 384,
                       stop: list[str] | str | None = None) -> list[list[Sample]]:
        """Answers to several prompts ((messages, n, seed, stop_when) each), in order: the same as one `sample`
        call each, which is what this default does. In-process models sample them in one batch."""
        return [self.sample(messages, n=n, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                            stop=stop, seed=seed, stop_when=stop_when) for messages, n, seed, stop_when in prompts]

    def count_tokens(self, text: str) -> int:
        raise NotImplementedError

    def render(self, messages: list[dict]) -> str:
        """The prompt text as the model sees it, as close as the backend knows (used to fit prompts)."""
        return "\n\n".join(f"{m['role']}: {m['content']}" for m in messages)

    def info(self) -> dict:
        return {"name": self.name, "context_length": self.context_length, "adapter": None}


def check_n(n: int) -> None:
    """Every backend's check of a request's candidate count."""
    if n < 1:
        raise UserError(f"n must be at least 1 (got {n})")


def cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    """The text before the first stop string, and whether one was found."""
    cut = min((text.find(s) for s in stops if s and s in text), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def stop_list(stop: list[str] | str | None) -> list[str]:
    return [stop] if isinstance(stop, str) and stop else [s for s in (stop or []) if s]
