"""How the in-process model samples: prompts to token ids, then candidates from agent/provider/hf_batch.py's loop.

`Sampling` is the sampling half of `HFProvider` (agent/provider/hf.py, which loads the model and its adapters);
it uses the provider's `model`, `tokenizer`, `name`, `context_length`, `render`, `_encode`, `base_model`,
`max_batch`, `share_prefill`, `share_prefix` and `grow_cache_in_place`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from agent.errors import UserError
from agent.provider.base import Sample, check_n, cut_at_stop, stop_list
from agent.stopping import cut_answer


class Sampling:
    """Sampling methods of `HFProvider`."""

    def prepare(self, messages: list[dict]) -> list[int]:
        """The prompt's token ids; a UserError when it leaves the model no room to answer."""
        ids = self._encode(self.render(messages))[0][0].tolist()
        if len(ids) >= self.context_length:
            raise UserError(f"the prompt has {len(ids)} tokens but {self.name} reads at most "
                            f"{self.context_length}; shorten the task or the feedback")
        return ids

    def sample(self, messages: list[dict], n: int = 4, temperature: float = 0.8, top_p: float = 0.95,
               max_new_tokens: int = 384, stop: list[str] | str | None = None, seed: int | None = 0,
               min_new_tokens: int = 0, stop_when: Callable[[str], int | None] | None = None) -> list[Sample]:
        """n candidates for one prompt, generated as one batch (split in halves after a GPU out-of-memory).

        temperature <= 0 is greedy (one generation, copied n times). Same seed, same candidates, also when the
        prompt is sampled beside others (`sample_many`). `min_new_tokens` keeps the end token away that long
        (benchmarks use it for fixed-length runs); `stop_when` ends a candidate where it says its answer is done.
        """
        check_n(n)
        from agent.provider.hf_batch import PromptRows  # torch and transformers load with the first sample

        request = PromptRows(self.prepare(messages), n, seed, stop_when)
        return self.sample_many([request], temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                                stop=stop, min_new_tokens=min_new_tokens)[0]

    batches_prompts = True

    def sample_prompts(self, prompts: list[tuple[list[dict], int, int | None, Callable | None]],
                       temperature: float = 0.8, top_p: float = 0.95, max_new_tokens: int = 384,
                       stop: list[str] | str | None = None) -> list[list[Sample]]:
        """Answers to several prompts ((messages, n, seed, stop_when) each) from one batch (`sample_many`)."""
        from agent.provider.hf_batch import PromptRows

        for _, n, _, _ in prompts:
            check_n(n)
        requests = [PromptRows(self.prepare(messages), n, seed, stop_when) for messages, n, seed, stop_when in prompts]
        return self.sample_many(requests, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                                stop=stop)

    def sample_many(self, requests: list, temperature: float = 0.8, top_p: float = 0.95,
                    max_new_tokens: int = 384, stop: list[str] | str | None = None,
                    min_new_tokens: int = 0) -> list[list[Sample]]:
        """Candidates for many prompts (each request's n, in order) from one batch, or from as few as
        `max_batch` rows per call allows; after a GPU out-of-memory the rows are split in halves."""
        import torch

        from agent.provider.hf_batch import generate_rows, row_seed

        stops = stop_list(stop)
        greedy = temperature is None or temperature <= 0
        ends = self._end_ids()
        rows = []  # (request, prompt ids, row seed, stop_when), in request and candidate order
        for r, request in enumerate(requests):
            seed = request.seed if request.seed is not None else secrets.randbits(48)
            rows += [(r, request.ids, row_seed(seed, i), request.stop_when) for i in range(1 if greedy else request.n)]
        order = sorted(range(len(rows)), key=lambda k: len(rows[k][1]))  # like lengths together: less padding
        done: dict[int, Sample] = {}
        batch = min(len(rows), self.max_batch or len(rows))
        while len(done) < len(rows):
            chunk = [k for k in order if k not in done][:batch]
            new_tokens = self.room_for(max((rows[k][1] for k in chunk), key=len), max_new_tokens)
            try:
                tokens = generate_rows(self.model, self.tokenizer, [rows[k][1:] for k in chunk], greedy=greedy,
                                       temperature=temperature, top_p=top_p, max_new_tokens=new_tokens,
                                       min_new_tokens=min(min_new_tokens, new_tokens), stops=stops,
                                       end_ids=ends, share_prefill=self.share_prefill,
                                       share_prefix=self.share_prefix, grow_in_place=self.grow_cache_in_place)
            except torch.OutOfMemoryError:
                if len(chunk) == 1:
                    raise UserError(f"out of GPU memory generating even one candidate with {self.name}; lower "
                                    "max_new_tokens or use a smaller model") from None
                batch = max(1, len(chunk) // 2)
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                logging.getLogger(__name__).warning("out of GPU memory at batch %d; retrying with %d", len(chunk),
                                                    batch)
                continue
            for k, row_tokens in zip(chunk, tokens, strict=True):
                done[k] = self._sample_from(row_tokens, len(rows[k][1]), stops, rows[k][3], ends)
        results: list[list[Sample]] = [[] for _ in requests]
        for k, row in enumerate(rows):
            results[row[0]].append(done[k])
        return [found * request.n if greedy else found for found, request in zip(results, requests, strict=True)]

    def running_batch(self, temperature: float, top_p: float, stops: list[str]):
        """An empty batch that rows join and leave as they come (`BatchingProvider` keeps one running)."""
        from agent.provider.hf_batch import RunningBatch

        return RunningBatch(self.model, self.tokenizer, temperature=temperature, top_p=top_p, stops=stops,
                            end_ids=self._end_ids(), share_prefill=self.share_prefill,
                            share_prefix=self.share_prefix, grow_in_place=self.grow_cache_in_place)

    def room_for(self, ids: list[int], max_new_tokens: int) -> int:
        """New tokens a prompt of these ids may get: max_new_tokens, or what the context leaves."""
        return max(1, min(max_new_tokens, self.context_length - len(ids)))

    def finished(self, row, stops: list[str]) -> Sample:
        """The sample of a row (hf_batch.Row) that has ended."""
        return self._sample_from(row.tokens, len(row.ids), stops, row.stop_when, self._end_ids())

    def _end_ids(self) -> set[int]:
        return self._eos_ids() | {self.tokenizer.pad_token_id}  # a row ends at its first end or padding token

    def _sample_from(self, tokens: list[int], prompt_tokens: int, stops: list[str], stop_when,
                     ends: set[int]) -> Sample:
        """A row's text cut at its stop (`ends`: the end and padding tokens), its token count and why it ended."""
        end = next((i for i, token in enumerate(tokens) if token in ends), len(tokens))
        text, stopped = cut_at_stop(self.tokenizer.decode(tokens[:end], skip_special_tokens=True), stops)
        if not stopped:
            text, stopped = cut_answer(text, stop_when)
        if stopped:  # the padding after the stop is not the model's
            return Sample(text=text, prompt_tokens=prompt_tokens, completion_tokens=end, finish_reason="stop")
        if end < len(tokens):
            return Sample(text=text, prompt_tokens=prompt_tokens, completion_tokens=end + 1, finish_reason="eos")
        return Sample(text=text, prompt_tokens=prompt_tokens, completion_tokens=end, finish_reason="length")

    def _eos_ids(self) -> set[int]:
        configured = getattr(self.base_model.generation_config, "eos_token_id", None)
        if configured is None:
            configured = self.tokenizer.eos_token_id
        ids = set(configured) if isinstance(configured, (list, tuple)) else {configured}
        return {token for token in ids if token is not None}

