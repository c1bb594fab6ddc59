"""One `generate` call for many prompts and many candidates each: the in-process model's sampling core.

Rows (a prompt repeated once per candidate) are left-padded into one batch. Each row draws its tokens from its own
seeded random stream (`RowSampling`), so a candidate is the same whether its prompt was sampled alone or beside
other tasks' prompts: batching changes the speed, not the candidates. A row stops at a stop string, at its end
token, or where its answer is complete (`AnswerStop`, with `agent.stopping`); transformers pads it from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList


@dataclass
class PromptRows:
    """One prompt's share of a batch: its token ids, how many candidates, their seed, when its answer is done."""

    ids: list[int]
    n: int
    seed: int | None = 0
    stop_when: Callable[[str], int | None] | None = None


def row_seed(seed: int, index: int) -> int:
    """The random stream of candidate `index` of a prompt sampled with `seed`."""
    return (seed * 1_000_003 + index) % (2**63 - 1)


class RowSampling(LogitsProcessor):
    """Temperature and top-p sampling with one random stream per row, used under greedy search: the argmax of
    log-probabilities plus Gumbel noise is an exact sample from the distribution (the Gumbel-max trick)."""

    def __init__(self, seeds: list[int], temperature: float, top_p: float):
        self.generators = [torch.Generator().manual_seed(seed) for seed in seeds]
        self.temperature, self.top_p = float(temperature), float(top_p)

    def __call__(self, input_ids, scores):
        scores = scores.float() / self.temperature
        if self.top_p < 1.0:
            ordered, order = torch.sort(scores, descending=True, dim=-1)
            probs = ordered.softmax(dim=-1)
            # drop a token when the ones before it already hold top_p of the mass (the first is always kept)
            drop = (probs.cumsum(dim=-1) - probs) > self.top_p
            scores = scores.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
        vocab = scores.shape[-1]
        uniform = torch.stack([torch.rand(vocab, generator=g) for g in self.generators]).to(scores.device)
        gumbel = -torch.log(-torch.log(uniform.clamp(1e-10, 1.0 - 1e-7)))
        return scores + gumbel


class AnswerStop(StoppingCriteria):
    """Ends each row whose answer is complete; checked when a row's newest token holds a line break."""

    def __init__(self, tokenizer, prompt_length: int, stoppers: list[Callable[[str], int | None] | None]):
        self.tokenizer, self.prompt_length, self.stoppers = tokenizer, prompt_length, stoppers
        self.done = [False] * len(stoppers)
        self._breaks: dict[int, bool] = {}

    def _breaks_line(self, token: int) -> bool:
        if token not in self._breaks:
            self._breaks[token] = "\n" in self.tokenizer.decode([token])
        return self._breaks[token]

    def __call__(self, input_ids, scores, **kwargs):
        new = input_ids[:, self.prompt_length:]
        for row, stop_when in enumerate(self.stoppers):
            if self.done[row] or stop_when is None or not self._breaks_line(int(new[row, -1])):
                continue
            if stop_when(self.tokenizer.decode(new[row], skip_special_tokens=True)) is not None:
                self.done[row] = True
        return torch.tensor(self.done, dtype=torch.bool, device=input_ids.device)


def generate_rows(model, tokenizer, rows: list[tuple[list[int], int, Callable | None]], *, greedy: bool,
                  temperature: float, top_p: float, max_new_tokens: int, min_new_tokens: int,
                  stops: list[str]) -> list[list[int]]:
    """The new token ids of each row ((prompt ids, row seed, stop_when)), from one generate call."""
    pad = tokenizer.pad_token_id
    longest = max(len(ids) for ids, _, _ in rows)
    input_ids = torch.tensor([[pad] * (longest - len(ids)) + ids for ids, _, _ in rows], device=model.device)
    attention_mask = torch.tensor([[0] * (longest - len(ids)) + [1] * len(ids) for ids, _, _ in rows],
                                  device=model.device)
    generation = dict(max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad,
                      temperature=None, top_p=None, top_k=None)
    if min_new_tokens:
        generation["min_new_tokens"] = min_new_tokens
    if not greedy:
        generation["logits_processor"] = LogitsProcessorList([RowSampling([s for _, s, _ in rows], temperature, top_p)])
    if stops:  # transformers' own criterion: a sequence ends at the token that completes a stop string
        generation.update(stop_strings=stops, tokenizer=tokenizer)
    stoppers = [stop_when for _, _, stop_when in rows]
    if any(stoppers):
        generation["stopping_criteria"] = StoppingCriteriaList([AnswerStop(tokenizer, longest, stoppers)])
    with torch.no_grad():
        output = model.generate(input_ids=input_ids, attention_mask=attention_mask, **generation)
    return output[:, longest:].tolist()
