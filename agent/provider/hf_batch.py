"""One decoding loop for many prompts and many candidates each: the in-process model's sampling core.

Rows (a prompt repeated once per candidate) are left-padded into one batch (`RunningBatch`). Rows join it between
two decoding steps, their prompts read as agent/provider/prefill.py says, and leave it when they end. Each row
draws its tokens from its own seeded random stream (`RowSampling`), so a candidate is the same whether its prompt
was sampled alone or beside other tasks' prompts: batching changes the speed, not the candidates. A row ends at a
stop string, at its end token, or where its answer is complete (`RowEnds`, with `agent.stopping`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from agent.provider.kv_cache import join_caches, keep_rows
from agent.provider.prefill import pad_left, read_prompts


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

    def add(self, seeds: list[int]) -> None:
        """Rows that joined the batch, after the others."""
        self.generators += [torch.Generator().manual_seed(seed) for seed in seeds]

    def _nucleus(self, scores):
        """Scores outside the top-p nucleus set to -inf. The nucleus is looked for among the 1024 likeliest tokens
        first (a sort of the whole vocabulary per step costs more than a small model's forward on a CPU); only
        the rows whose nucleus is wider get the full sort."""
        log_total = scores.logsumexp(dim=-1, keepdim=True)
        ordered, order = torch.topk(scores, min(1024, scores.shape[-1]), dim=-1)
        kept = torch.full_like(scores, float("-inf"))
        covered = (ordered - log_total).exp().sum(dim=-1) >= self.top_p
        if bool(covered.all()):
            return self._keep_nucleus(kept, ordered, order, log_total)
        wide = (~covered).nonzero().squeeze(1)
        narrow = covered.nonzero().squeeze(1)
        kept[narrow] = self._keep_nucleus(kept[narrow], ordered[narrow], order[narrow], log_total[narrow])
        ordered, order = torch.sort(scores[wide], descending=True, dim=-1)
        kept[wide] = self._keep_nucleus(kept[wide], ordered, order, log_total[wide])
        return kept

    def _keep_nucleus(self, kept, ordered, order, log_total):
        # keep a token while the ones before it hold less than top_p of the mass (the first is always kept)
        probs = (ordered - log_total).exp()
        keep = (probs.cumsum(dim=-1) - probs) <= self.top_p
        return kept.scatter(-1, order, ordered.masked_fill(~keep, float("-inf")))


class RowEnds:
    """Whether a row has ended: at an end token, at a stop string, or where its answer is complete (checked when
    the newest token holds a line break, with the row's `stop_when`)."""

    def __init__(self, tokenizer, end_ids: set[int], stops: list[str]):
        self.tokenizer, self.end_ids, self.stops = tokenizer, end_ids, stops
        self._breaks: dict[int, bool] = {}
        self._longest_stop = max((len(s) for s in stops), default=0)

    def _breaks_line(self, token: int) -> bool:
        if token not in self._breaks:
            self._breaks[token] = "\n" in self.tokenizer.decode([token])
        return self._breaks[token]

    def __call__(self, tokens: list[int], stop_when: Callable[[str], int | None] | None) -> bool:
        if tokens[-1] in self.end_ids:
            return True
        if self.stops:  # a stop string completed by this token lies in the text of the last few tokens
            tail = self.tokenizer.decode(tokens[-(self._longest_stop + 2):], skip_special_tokens=True)
            if any(stop in tail for stop in self.stops):
                return True
        if stop_when is None or not self._breaks_line(tokens[-1]):
            return False
        return stop_when(self.tokenizer.decode(tokens, skip_special_tokens=True)) is not None


@dataclass(eq=False)
class Row:
    """One candidate being written: its prompt, its random stream (seed None: greedy), its token limits."""

    ids: list[int]
    seed: int | None
    max_new: int
    min_new: int = 0
    stop_when: Callable[[str], int | None] | None = None
    owner: object = None  # who asked for it; the batch never looks
    tokens: list[int] = field(default_factory=list)
    ended: bool = False


class RunningBatch:
    """Rows decoded together, one token each per `step`. Rows join between steps (`admit`: their prompts are read,
    and their KV cache joins the batch's, left-padded) and leave when they end, so a batch can stay full while
    its callers come and go (continuous batching)."""

    def __init__(self, model, tokenizer, *, temperature: float, top_p: float, stops: list[str], end_ids: set[int],
                 share_prefill: bool = True, share_prefix: bool = True, grow_in_place: bool = True):
        self.model, self.tokenizer = model, tokenizer
        self.share_prefill, self.share_prefix, self.grow_in_place = share_prefill, share_prefix, grow_in_place
        self.greedy = temperature is None or temperature <= 0
        self.sampler = None if self.greedy else RowSampling([], temperature, top_p)
        self.ends = RowEnds(tokenizer, end_ids, stops)
        self.banned = torch.tensor(sorted(end_ids), device=model.device, dtype=torch.long)
        self.rows: list[Row] = []  # in batch order
        self._cache = self._mask = self._positions = self._next = None

    def __len__(self) -> int:  # the rows still writing
        return sum(1 for row in self.rows if not row.ended)

    def admit(self, rows: list[Row]) -> None:
        """Read the prompts of `rows` and add them to the batch."""
        if not rows:
            return
        if len(self) < len(self.rows):  # ended rows still in the batch go before it is copied
            self._keep([slot for slot, row in enumerate(self.rows) if not row.ended])
        device = self.model.device
        prompts = [row.ids for row in rows]
        cache, mask = read_prompts(self.model, prompts, self.tokenizer.pad_token_id, share=self.share_prefill,
                                   share_prefix=self.share_prefix, roomy=self.grow_in_place)
        positions = torch.tensor([len(ids) - 1 for ids in prompts], device=device)
        step_input = torch.tensor([[ids[-1]] for ids in prompts], device=device)
        if self.rows:  # both sides left-padded to the wider one (a mask column more than cache columns)
            width = max(self._mask.shape[1], mask.shape[1])
            self._cache = join_caches([(self._cache, len(self.rows)), (cache, len(rows))], width - 1)
            self._mask = torch.cat([pad_left(self._mask, width), pad_left(mask, width)])
            self._positions = torch.cat([self._positions, positions])
            self._next = torch.cat([self._next, step_input])
        else:
            self._cache, self._mask, self._positions, self._next = cache, mask, positions, step_input
        if self.sampler is not None:
            self.sampler.add([row.seed for row in rows])
        self.rows += rows

    def step(self) -> list[Row]:
        """One token for every row; the rows that ended with it are returned. They leave the batch once an eighth
        of its rows have ended (each leaving copies the cache; an ended row costs a row's compute until then)."""
        with torch.no_grad():
            logits = self.model(input_ids=self._next, attention_mask=self._mask,
                                position_ids=self._positions[:, None], past_key_values=self._cache,
                                use_cache=True).logits[:, -1, :].float()
        early = [slot for slot, row in enumerate(self.rows) if len(row.tokens) < row.min_new]
        if early and len(self.banned):
            logits[torch.tensor(early, device=logits.device)[:, None], self.banned[None, :]] = float("-inf")
        chosen = (logits if self.sampler is None else self.sampler(logits)).argmax(dim=-1)
        ended = []
        for row, token in zip(self.rows, chosen.tolist(), strict=True):
            if row.ended:
                continue
            row.tokens.append(token)
            if len(row.tokens) >= row.max_new or self.ends(row.tokens, row.stop_when):
                row.ended = True
                ended.append(row)
        keep = [slot for slot, row in enumerate(self.rows) if not row.ended]
        if len(self.rows) - len(keep) >= max(1, len(self.rows) // 8):
            self._keep(keep)
            chosen = chosen[torch.tensor(keep, device=chosen.device, dtype=torch.long)]
        if self.rows:
            self._mask = torch.cat([self._mask, self._mask.new_ones((len(self.rows), 1))], dim=-1)
            self._positions, self._next = self._positions + 1, chosen[:, None]
        return ended

    def _keep(self, slots: list[int]) -> None:
        """Only the rows at `slots` go on; padding columns no remaining row reads are dropped."""
        self.rows = [self.rows[slot] for slot in slots]
        if self.sampler is not None:
            self.sampler.keep(slots)
        if not slots:
            self._cache = self._mask = self._positions = self._next = None
            return
        index = torch.tensor(slots, device=self._mask.device, dtype=torch.long)
        self._mask, self._positions, self._next = self._mask[index], self._positions[index], self._next[index]
        first = int(self._mask.any(dim=0).long().argmax())  # the first column some row reads
        self._mask = self._mask[:, first:]
        keep_rows(self._cache, index, first)


def generate_rows(model, tokenizer, rows: list[tuple[list[int], int, Callable | None]], *, greedy: bool,
                  temperature: float, top_p: float, max_new_tokens: int, min_new_tokens: int,
                  stops: list[str], end_ids: set[int], share_prefill: bool = True,
                  share_prefix: bool = True, grow_in_place: bool = True) -> list[list[int]]:
    """The new token ids of each row ((prompt ids, row seed, stop_when)), each up to and with the token that ended it.

    Our own decoding loop rather than `generate`: a row that has ended leaves the batch (its KV cache rows are
    dropped), so the rows still writing do not pay for it. On a CPU a step's cost grows with its rows."""
    batch = RunningBatch(model, tokenizer, temperature=0 if greedy else temperature, top_p=top_p, stops=stops,
                         end_ids=end_ids, share_prefill=share_prefill, share_prefix=share_prefix,
                         grow_in_place=grow_in_place)
    specs = [Row(ids, seed, max_new_tokens, min_new_tokens, stop_when) for ids, seed, stop_when in rows]
    batch.admit(specs)
    while len(batch):
        batch.step()
    return [row.tokens for row in specs]
