"""One decoding loop for many prompts and many candidates each: the in-process model's sampling core.

Rows (a prompt repeated once per candidate) are left-padded into one batch. Each row draws its tokens from its own
seeded random stream (`RowSampling`), so a candidate is the same whether its prompt was sampled alone or beside
other tasks' prompts: batching changes the speed, not the candidates. A row ends at a stop string, at its end
token, or where its answer is complete (`RowEnds`, with `agent.stopping`), and leaves the batch then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from transformers import DynamicCache


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


class RowSampling:
    """Temperature and top-p sampling with one random stream per row: the argmax of the scores it returns
    (log-probabilities plus Gumbel noise) is an exact sample from the distribution (the Gumbel-max trick)."""

    def __init__(self, seeds: list[int], temperature: float, top_p: float):
        self.generators = [torch.Generator().manual_seed(seed) for seed in seeds]
        self.temperature, self.top_p = float(temperature), float(top_p)

    def __call__(self, logits):
        scores = logits.float() / self.temperature
        if self.top_p < 1.0:
            scores = self._nucleus(scores)
        vocab = scores.shape[-1]
        uniform = torch.stack([torch.rand(vocab, generator=g) for g in self.generators]).to(scores.device)
        gumbel = -torch.log(-torch.log(uniform.clamp(1e-10, 1.0 - 1e-7)))
        return scores + gumbel

    def keep(self, slots: list[int]) -> None:
        """Only the rows at `slots` go on (the others have ended), each with its own stream."""
        self.generators = [self.generators[slot] for slot in slots]


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


class RowEnds:
    """Whether a row has ended: at an end token, at a stop string, or where its answer is complete (checked when
    the newest token holds a line break, with `stop_when`)."""

    def __init__(self, tokenizer, end_ids: set[int], stops: list[str],
                 stoppers: list[Callable[[str], int | None] | None]):
        self.tokenizer, self.end_ids, self.stops, self.stoppers = tokenizer, end_ids, stops, stoppers
        self._breaks: dict[int, bool] = {}
        self._longest_stop = max((len(s) for s in stops), default=0)

    def _breaks_line(self, token: int) -> bool:
        if token not in self._breaks:
            self._breaks[token] = "\n" in self.tokenizer.decode([token])
        return self._breaks[token]

    def __call__(self, row: int, tokens: list[int]) -> bool:
        if tokens[-1] in self.end_ids:
            return True
        if self.stops:  # a stop string completed by this token lies in the text of the last few tokens
            tail = self.tokenizer.decode(tokens[-(self._longest_stop + 2):], skip_special_tokens=True)
            if any(stop in tail for stop in self.stops):
                return True
        stop_when = self.stoppers[row]
        if stop_when is None or not self._breaks_line(tokens[-1]):
            return False
        return stop_when(self.tokenizer.decode(tokens, skip_special_tokens=True)) is not None


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
                  stops: list[str], end_ids: set[int], share_prefill: bool = True) -> list[list[int]]:
    """The new token ids of each row ((prompt ids, row seed, stop_when)), each up to and with the token that ended it.

    Our own decoding loop rather than `generate`: a row that has ended leaves the batch (its KV cache rows are
    dropped), so the rows still writing do not pay for it. On a CPU a step's cost grows with its rows."""
    pad = tokenizer.pad_token_id
    prompts = [ids for ids, _, _ in rows]
    longest = max(len(ids) for ids in prompts)
    _, mask = _left_padded(prompts, longest, pad, model.device)
    distinct = list(dict.fromkeys(tuple(ids) for ids in prompts))
    if longest == 1:
        cache = DynamicCache()
    elif share_prefill and len(distinct) < len(rows):
        where = {ids: i for i, ids in enumerate(distinct)}
        cache = shared_prefill(model, [list(ids) for ids in distinct], [where[tuple(ids)] for ids in prompts],
                               longest, pad)
    else:
        cache = shared_prefill(model, prompts, list(range(len(rows))), longest, pad)
    sampler = None if greedy else RowSampling([seed for _, seed, _ in rows], temperature, top_p)
    ended = RowEnds(tokenizer, end_ids, stops, [stop_when for _, _, stop_when in rows])
    banned = torch.tensor(sorted(end_ids), device=model.device, dtype=torch.long)
    active = list(range(len(rows)))  # the rows still writing, in batch order
    positions = torch.tensor([len(ids) - 1 for ids in prompts], device=model.device)
    step_input = torch.tensor([[ids[-1]] for ids in prompts], device=model.device)
    out: list[list[int]] = [[] for _ in rows]
    with torch.no_grad():
        for step in range(max_new_tokens):
            logits = model(input_ids=step_input, attention_mask=mask, position_ids=positions[:, None],
                           past_key_values=cache, use_cache=True).logits[:, -1, :].float()
            if step < min_new_tokens and len(banned):
                logits[:, banned] = float("-inf")
            chosen = (logits if sampler is None else sampler(logits)).argmax(dim=-1)
            keep = []
            for slot, (row, token) in enumerate(zip(active, chosen.tolist(), strict=True)):
                out[row].append(token)
                if not ended(row, out[row]):
                    keep.append(slot)
            if not keep:
                break
            if len(keep) < len(active):
                index = torch.tensor(keep, device=model.device)
                cache.batch_select_indices(index)
                mask, positions, chosen = mask[index], positions[index], chosen[index]
                active = [active[slot] for slot in keep]
                if sampler is not None:
                    sampler.keep(keep)
            mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=-1)
            positions, step_input = positions + 1, chosen[:, None]
    return out
