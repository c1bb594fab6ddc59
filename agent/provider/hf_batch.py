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
            scores = self._nucleus(scores)
        vocab = scores.shape[-1]
        uniform = torch.stack([torch.rand(vocab, generator=g) for g in self.generators]).to(scores.device)
        gumbel = -torch.log(-torch.log(uniform.clamp(1e-10, 1.0 - 1e-7)))
        return scores + gumbel


    def _nucleus(self, scores):
        """Scores outside the top-p nucleus set to -inf. The nucleus is looked for among the 1024 likeliest tokens
        first (a sort of the whole vocabulary per step costs more than a small model's forward on a CPU); a row
        whose nucleus is wider gets the full sort."""
        log_total = scores.logsumexp(dim=-1, keepdim=True)
        ordered, order = torch.topk(scores, min(1024, scores.shape[-1]), dim=-1)
        probs = (ordered - log_total).exp()
        covered = probs.sum(dim=-1) >= self.top_p
        if not bool(covered.all()):
            ordered, order = torch.sort(scores, descending=True, dim=-1)
            probs = (ordered - log_total).exp()
        # keep a token while the ones before it hold less than top_p of the mass (the first is always kept)
        keep = (probs.cumsum(dim=-1) - probs) <= self.top_p
        kept = torch.full_like(scores, float("-inf"))
        return kept.scatter(-1, order, ordered.masked_fill(~keep, float("-inf")))


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


def _left_padded(prompts: list[list[int]], length: int, pad: int, device):
    ids = torch.tensor([[pad] * (length - len(p)) + p for p in prompts], device=device)
    mask = torch.tensor([[0] * (length - len(p)) + [1] * len(p) for p in prompts], device=device)
    return ids, mask


def shared_prefill(model, prompts: list[list[int]], rows: list[int], length: int, pad: int):
    """The KV cache of every row's prompt but its last token, computed once per distinct prompt and copied to
    its rows: n candidates of one prompt read it once (transformers' num_return_sequences reads it n times,
    which on a CPU costs more than sampling short answers)."""
    ids, mask = _left_padded(prompts, length, pad, model.device)
    ids, mask = ids[:, :-1], mask[:, :-1]
    positions = (mask.long().cumsum(-1) - 1).clamp(min=0)  # as generate numbers left-padded positions
    with torch.no_grad():
        cache = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True).past_key_values
    cache.batch_select_indices(torch.tensor(rows, device=model.device))
    return cache


def generate_rows(model, tokenizer, rows: list[tuple[list[int], int, Callable | None]], *, greedy: bool,
                  temperature: float, top_p: float, max_new_tokens: int, min_new_tokens: int,
                  stops: list[str], share_prefill: bool = True) -> list[list[int]]:
    """The new token ids of each row ((prompt ids, row seed, stop_when)), from one generate call."""
    pad = tokenizer.pad_token_id
    longest = max(len(ids) for ids, _, _ in rows)
    input_ids, attention_mask = _left_padded([ids for ids, _, _ in rows], longest, pad, model.device)
    generation = dict(max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad,
                      temperature=None, top_p=None, top_k=None)
    distinct = list(dict.fromkeys(tuple(ids) for ids, _, _ in rows))
    if share_prefill and longest > 1 and len(distinct) < len(rows):
        where = {ids: i for i, ids in enumerate(distinct)}
        generation["past_key_values"] = shared_prefill(model, [list(ids) for ids in distinct],
                                                       [where[tuple(ids)] for ids, _, _ in rows], longest, pad)
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
