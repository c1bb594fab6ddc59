"""Many tasks, one in-process model: `sample` calls from several threads answered together by one batched generate.

    shared = BatchingProvider(HFProvider.from_pretrained(...), max_rows=64)
    # run solve_task for several tasks in threads, each with `shared` as its generator

A call waits until no other call has arrived for `gather_s` (or `max_rows` rows are waiting), then every waiting
call with the same sampling settings is answered from one `HFProvider.sample_many`: round-0 prompts of several
tasks, and the refinement prompts of a round, share a batch while the sandbox judges the previous one. Each
candidate keeps its own seeded random stream, so batching changes the speed, not what is sampled (up to the
rounding of a batch's padding in bf16 or 4-bit). A model server batches concurrent requests by itself and needs
no wrapper (agent/provider/openai_compat.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from agent.errors import UserError
from agent.provider.base import Provider, Sample, stop_list


@dataclass
class _Call:
    request: object  # hf_batch.PromptRows
    settings: tuple  # (temperature, top_p, max_new_tokens, stop, min_new_tokens): a batch shares them
    done: threading.Event = field(default_factory=threading.Event)
    result: list[Sample] | None = None
    error: BaseException | None = None


class BatchingProvider(Provider):
    """A thread-safe front for an `HFProvider` that batches concurrent calls (see the module doc)."""

    def __init__(self, inner, max_rows: int = 64, gather_s: float = 0.05):
        self.inner, self.max_rows, self.gather_s = inner, max_rows, gather_s
        self.name = inner.name
        self.batches: list[int] = []  # rows per generate call, for benchmarks and tests
        self._waiting: list[_Call] = []
        self._arrived = threading.Condition()
        self._model_lock = threading.Lock()  # one batch at a time; the others gather meanwhile

    @property
    def context_length(self) -> int:
        return self.inner.context_length

    def render(self, messages: list[dict]) -> str:
        return self.inner.render(messages)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def info(self) -> dict:
        return self.inner.info()

    def __getattr__(self, name):  # adapters, device, quantization...: the wrapped model's
        return getattr(self.inner, name)

    def sample(self, messages: list[dict], n: int = 4, temperature: float = 0.8, top_p: float = 0.95,
               max_new_tokens: int = 384, stop: list[str] | str | None = None, seed: int | None = 0,
               min_new_tokens: int = 0, stop_when=None) -> list[Sample]:
        from agent.provider.hf_batch import PromptRows

        if n < 1:
            raise UserError(f"n must be at least 1 (got {n})")
        stops = tuple(stop_list(stop))
        call = _Call(PromptRows(self.inner.prepare(messages), n, seed, stop_when),
                     (temperature, top_p, max_new_tokens, stops, min_new_tokens))
        with self._arrived:
            self._waiting.append(call)
            self._arrived.notify_all()
        while not call.done.is_set():
            self._serve()
        if call.error is not None:
            raise call.error
        return call.result

    def _serve(self) -> None:
        """Gather waiting calls, then answer a batch of them; whoever holds the model does the work."""
        if not self._model_lock.acquire(timeout=0.01):
            return
        try:
            with self._arrived:
                while True:  # gather: until arrivals pause or the batch is full
                    rows = sum(c.request.n for c in self._waiting if not c.done.is_set())
                    if rows >= self.max_rows or not self._arrived.wait(self.gather_s):
                        break
                pending = [c for c in self._waiting if not c.done.is_set()]
                if not pending:
                    return
                batch, total = [], 0
                for call in pending:
                    if call.settings == pending[0].settings and (not batch or total + call.request.n <= self.max_rows):
                        batch.append(call)
                        total += call.request.n
                self._waiting = [c for c in self._waiting if c not in batch and not c.done.is_set()]
            self._answer(batch)
        finally:
            self._model_lock.release()

    def _answer(self, batch: list[_Call]) -> None:
        temperature, top_p, max_new_tokens, stop, min_new_tokens = batch[0].settings
        try:
            results = self.inner.sample_many([c.request for c in batch], temperature=temperature, top_p=top_p,
                                             max_new_tokens=max_new_tokens, stop=list(stop) or None,
                                             min_new_tokens=min_new_tokens)
            for call, result in zip(batch, results, strict=True):
                call.result = result
        except BaseException as exc:  # every caller of this batch sees the model's failure
            for call in batch:
                call.error = exc
        finally:
            self.batches.append(sum(c.request.n for c in batch))
            for call in batch:
                call.done.set()
