"""Reading prompts into a KV cache before decoding: each distinct prompt once, and a prefix that several prompts
share (a task's refinement prompts all start with its instructions) once for all of them.

Refinement prompts are three to four times longer than the answers they get, and on a CPU reading them is
compute-bound, so tokens not read save time in proportion.

Every cache here holds every token of its rows' prompts but the last, which is the first decoding step's input;
its attention mask has one column more, for that token.
"""

from __future__ import annotations

import torch

from agent.provider.kv_cache import join_caches, new_cache

MIN_SHARED_PREFIX = 48  # tokens: more than a chat template's system part, so only one task's prompts share one


def left_padded(prompts: list[list[int]], length: int, pad: int, device):
    ids = torch.tensor([[pad] * (length - len(p)) + p for p in prompts], device=device, dtype=torch.long)
    mask = torch.tensor([[0] * (length - len(p)) + [1] * len(p) for p in prompts], device=device, dtype=torch.long)
    return ids, mask


def pad_left(mask, width: int):
    return torch.cat([mask.new_zeros((mask.shape[0], width - mask.shape[1])), mask], dim=1)


def _read_padded(model, prompts: list[list[int]], pad: int, roomy: bool = True):
    """Prompts left-padded into one forward: (cache, mask)."""
    longest = max(len(ids) for ids in prompts)
    ids, mask = left_padded(prompts, longest, pad, model.device)
    if longest == 1:
        return new_cache(roomy), mask
    positions = (mask[:, :-1].cumsum(-1) - 1).clamp(min=0)  # as generate numbers left-padded positions
    with torch.no_grad():
        cache = model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=positions,
                      past_key_values=new_cache(roomy), use_cache=True, logits_to_keep=1).past_key_values
    return cache, mask


def _read_sharing(model, prompts: list[list[int]], shared: int, pad: int, roomy: bool = True):
    """Prompts that start with the same `shared` tokens: those read once, then the rest of each prompt after
    them, left-padded between the prefix and the rest (the mask skips the gap; positions run on)."""
    device = model.device
    with torch.no_grad():
        cache = model(input_ids=torch.tensor([prompts[0][:shared]], device=device), past_key_values=new_cache(roomy),
                      use_cache=True, logits_to_keep=1).past_key_values
        cache.batch_repeat_interleave(len(prompts))
        rests = [ids[shared:] for ids in prompts]
        ids, rest_mask = left_padded(rests, max(len(rest) for rest in rests), pad, device)
        mask = torch.cat([rest_mask.new_ones((len(prompts), shared)), rest_mask], dim=1)
        if ids.shape[1] > 1:
            positions = shared + (rest_mask[:, :-1].cumsum(-1) - 1).clamp(min=0)
            model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=positions,
                  past_key_values=cache, use_cache=True, logits_to_keep=1)
    return cache, mask


def _common_prefix(a: tuple, b: tuple) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _sharing_groups(prompts: list[tuple]) -> tuple[list[tuple[list[int], int]], list[int]]:
    """Groups of prompt indices that share at least MIN_SHARED_PREFIX tokens, each with the tokens they share
    (leaving each prompt at least its last token), and the indices of prompts that share with none."""
    order = sorted(range(len(prompts)), key=lambda i: prompts[i])
    groups, alone = [], []
    start = 0
    while start < len(order):
        members, shared = [order[start]], len(prompts[order[start]]) - 1
        for i in order[start + 1:]:
            common = min(shared, _common_prefix(prompts[members[0]], prompts[i]), len(prompts[i]) - 1)
            if common < MIN_SHARED_PREFIX:
                break
            members.append(i)
            shared = common
        if len(members) > 1:
            groups.append((members, shared))
        else:
            alone += members
        start += len(members)
    return groups, alone


def read_prompts(model, prompts: list[list[int]], pad: int, share: bool = True, share_prefix: bool = True,
                 roomy: bool = True):
    """(cache, mask) for rows with these prompts, in order. With `share`, each distinct prompt is read once for
    all its rows, and with `share_prefix` a shared prefix once for all its prompts; without either, every row
    reads its whole prompt. `roomy`: the cache grows in place (agent/provider/kv_cache.py)."""
    if not share:
        return _read_padded(model, prompts, pad, roomy)
    distinct = list(dict.fromkeys(tuple(ids) for ids in prompts))
    groups, alone = _sharing_groups(distinct) if share_prefix else ([], list(range(len(distinct))))
    parts, order = [], []  # (cache, mask) and the distinct prompts they hold, in order
    if alone:
        parts.append(_read_padded(model, [list(distinct[i]) for i in alone], pad, roomy))
        order += alone
    for members, shared in groups:
        parts.append(_read_sharing(model, [list(distinct[i]) for i in members], shared, pad, roomy))
        order += members
    width = max(mask.shape[1] for _, mask in parts)
    if len(parts) == 1:
        cache, mask = parts[0]
    else:
        cache = join_caches([(cache, mask.shape[0]) for cache, mask in parts], width - 1)
        mask = torch.cat([pad_left(mask, width) for _, mask in parts])
    where = {distinct[i]: slot for slot, i in enumerate(order)}
    rows = torch.tensor([where[tuple(ids)] for ids in prompts], device=model.device)
    if len(rows) != len(order) or bool((rows != torch.arange(len(order), device=rows.device)).any()):
        cache.batch_select_indices(rows)
        mask = mask[rows]
    return cache, mask
