"""Many tasks, one in-process model: `sample` calls from several threads answered from one running batch.

    shared = BatchingProvider(HFProvider.from_pretrained(...), max_rows=64)
    # run solve_task for several tasks in threads, each with `shared` as its generator

The batch keeps decoding while callers come and go (continuous batching): a call's rows join it between two
decoding steps, and a call returns as soon as its own rows have ended, so its task goes on to the sandbox while
the other rows are still being written, and its next prompt joins the same batch. When the batch is empty, a
call waits until no other has arrived for `gather_s`, so the round-0 prompts of many tasks are read together.
Calls with other sampling settings (temperature, top-p, stop strings) wait until the batch has emptied.

Each candidate keeps its own seeded random stream, so batching changes the speed, not what is sampled (up to the
rounding of a batch's padding in bf16 or 4-bit). A model server batches concurrent requests by itself and needs
no wrapper (agent/provider/openai_compat.py).
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass, field

from agent.errors import UserError
from agent.provider.base import Provider, Sample, check_n, stop_list
from agent.provider.malloc_arenas import cap_malloc_arenas


@dataclass(eq=False)
class _Call:
    n: int  # candidates asked for (a greedy call decodes one row and copies it)
    settings: tuple  # (temperature, top_p, stop strings): the rows of a batch share them
    rows: list = field(default_factory=list)  # hf_batch.Row, owner = this call
    samples: dict[int, Sample] = field(default_factory=dict)  # row index -> its sample, as rows end
    done: threading.Event = field(default_factory=threading.Event)
    result: list[Sample] | None = None
    error: BaseException | None = None


class Cancelled(Exception):
    """The run is stopping (Ctrl-C, SIGTERM, a task that failed): sampling calls end with this instead of waiting
    for the candidates being written."""


class BatchingProvider(Provider):
    """A thread-safe front for an `HFProvider` that batches concurrent calls (see the module doc)."""

    def __init__(self, inner, max_rows: int = 64, gather_s: float = 0.05, continuous: bool = True):
        cap_malloc_arenas()  # before the task threads start: each would keep its own arena (see that module)
        self.inner, self.max_rows, self.gather_s = inner, max_rows, gather_s
        self.continuous = continuous  # False: calls join only an empty batch (for benchmarks: batching before)
        self.name = inner.name
        self.batches: list[int] = []  # rows per admission into the running batch, for benchmarks and tests
        self._queue: list = []  # rows waiting to join the batch, in arrival order
        self._arrived = threading.Condition()
        self._model_lock = threading.Lock()  # one thread decodes at a time, a step at a time
        self._batch = None  # hf_batch.RunningBatch, or None when nothing is being decoded
        self._settings: tuple | None = None  # the running batch's
        self._cancelled = False

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

    batches_prompts = True

    def sample(self, messages: list[dict], n: int = 4, temperature: float = 0.8, top_p: float = 0.95,
               max_new_tokens: int = 384, stop: list[str] | str | None = None, seed: int | None = 0,
               min_new_tokens: int = 0, stop_when=None) -> list[Sample]:
        return self.sample_prompts([(messages, n, seed, stop_when)], temperature=temperature, top_p=top_p,
                                   max_new_tokens=max_new_tokens, stop=stop, min_new_tokens=min_new_tokens)[0]

    def sample_prompts(self, prompts: list[tuple], temperature: float = 0.8, top_p: float = 0.95,
                       max_new_tokens: int = 384, stop: list[str] | str | None = None,
                       min_new_tokens: int = 0) -> list[list[Sample]]:
        """Answers to several prompts ((messages, n, seed, stop_when) each): their rows join the batch together,
        so a prefix they share is read once (a task's refinement prompts start with the task)."""
        from agent.provider.hf_batch import Row, row_seed

        greedy = temperature is None or temperature <= 0
        settings = (0.0 if greedy else float(temperature), float(top_p), tuple(stop_list(stop)))
        calls = []
        for messages, n, seed, stop_when in prompts:
            check_n(n)
            ids = self.inner.prepare(messages)
            seed = seed if seed is not None else secrets.randbits(48)
            call = _Call(n, settings)
            room = self.inner.room_for(ids, max_new_tokens)
            call.rows = [Row(ids, None if greedy else row_seed(seed, i), room, min(min_new_tokens, room), stop_when,
                             owner=(call, i)) for i in range(1 if greedy else n)]
            calls.append(call)
        with self._arrived:
            self._queue += [row for call in calls for row in call.rows]
            self._arrived.notify_all()
        for call in calls:
            while not call.done.is_set():
                self._serve()
                if self._cancelled and not call.done.is_set():
                    raise Cancelled("sampling was cancelled: the run is stopping")
        failed = next((call.error for call in calls if call.error is not None), None)
        if failed is not None:
            raise failed
        return [call.result for call in calls]

    def cancel(self) -> None:
        """Stop for good: every call waiting on the model, and every later one, raises `Cancelled`; the running
        batch is dropped after the step in progress. `agent.parallel` calls it when a run stops, so its threads
        end within a decoding step instead of writing their candidates to the end."""
        self._cancelled = True
        with self._model_lock, self._arrived:
            rows = (self._batch.rows if self._batch is not None else []) + self._queue
            self._batch, self._queue = None, []
            self._arrived.notify_all()
        for call in dict.fromkeys(row.owner[0] for row in rows):
            if not call.done.is_set():
                call.error = Cancelled("sampling was cancelled: the run is stopping")
                call.done.set()

    def _serve(self) -> None:
        """One decoding step, after letting waiting rows join; whoever holds the model does the work."""
        if self._cancelled or not self._model_lock.acquire(timeout=0.01):
            return
        try:
            with self._arrived:
                if not self._batch:  # nothing running: let a round's calls gather first
                    while len(self._queue) < self.max_rows and self._arrived.wait(self.gather_s):
                        pass
                joining = self._take_rows()
            if not joining and not self._batch:
                return
            try:
                if joining:
                    self._batch.admit(joining)
                    self.batches.append(len(joining))
                for row in self._batch.step():
                    self._row_done(row)
            except BaseException as exc:
                self._fail(exc, joining)
        finally:
            self._model_lock.release()

    def _take_rows(self) -> list:
        """The waiting rows that join now: those with the running batch's settings, as many as fit."""
        if self._batch and not self.continuous:
            return []
        if not self._batch and self._queue:
            self._settings = self._queue[0].owner[0].settings
            temperature, top_p, stops = self._settings
            self._batch = self.inner.running_batch(temperature, top_p, list(stops))
        room = self.max_rows - (len(self._batch) if self._batch is not None else 0)
        joining = [row for row in self._queue if row.owner[0].settings == self._settings][:max(0, room)]
        self._queue = [row for row in self._queue if row not in joining]
        return joining

    def _row_done(self, row) -> None:
        call, index = row.owner
        call.samples[index] = self.inner.finished(row, list(call.settings[2]))
        if len(call.samples) == len(call.rows):
            found = [call.samples[i] for i in range(len(call.rows))]
            call.result = found * call.n if len(call.rows) < call.n else found
            call.done.set()

    def _fail(self, exc: BaseException, joining: list) -> None:
        """The batch is lost (a step may have stopped half-way through its cache). After running out of GPU
        memory its rows start again, in a batch half the size; any other failure reaches every caller in it."""
        import torch

        running = self._batch.rows if self._batch is not None else []
        rows = [row for row in running if not row.ended and row not in joining] + joining
        self._batch = None
        if isinstance(exc, torch.OutOfMemoryError) and len(rows) > 1:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            self.max_rows = max(1, len(rows) // 2)
            logging.getLogger(__name__).warning("out of GPU memory at %d rows; going on with %d", len(rows),
                                                self.max_rows)
            for row in rows:
                row.tokens.clear()
                row.ended = False
            with self._arrived:
                self._queue = rows + self._queue
            return
        if isinstance(exc, torch.OutOfMemoryError):
            exc = UserError(f"out of GPU memory generating even one candidate with {self.name}; lower "
                            "max_new_tokens or use a smaller model")
        calls = list(dict.fromkeys(row.owner[0] for row in rows))
        with self._arrived:
            self._queue = [row for row in self._queue if row.owner[0] not in calls]
        for call in calls:
            call.error = exc
            call.done.set()
