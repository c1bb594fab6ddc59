"""A KV cache that grows in place, for the decoding loop (agent/provider/hf_batch.py).

transformers' DynamicLayer concatenates each decoding step's keys and values onto a copy of the whole cache. On
this project's 2-core CPU with the embedded model, a step of 64 rows at 900 tokens took 1.76 s with it and
0.68 s without (`python benchmarks/bench_decode_step.py`). A `RoomyLayer` keeps room after its last column and a
step writes there; its `keys` and `values` are views of the filled columns. The cache is copied only when rows
leave or join the batch, and then straight into a new layer with room.
"""

from __future__ import annotations

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

ROOM = 64  # columns of room a layer keeps after a copy, at least (a quarter of its length when that is more)


def _empty_like_with_room(reference, rows: int, columns: int, zero: bool = False):
    shape = (rows, reference.shape[1], columns + max(ROOM, columns // 4), reference.shape[3])
    return reference.new_zeros(shape) if zero else reference.new_empty(shape)


class RoomyLayer(DynamicLayer):
    """A DynamicLayer whose keys and values are views of larger tensors, so that a step writes in place."""

    def __init__(self):
        super().__init__()
        self.store: tuple | None = None  # (keys, values) with room

    def _in_store(self, end: int) -> bool:
        if self.store is None:
            return False
        keys, values = self.store
        return (end <= keys.shape[2] and self.keys.data_ptr() == keys.data_ptr() and self.keys.shape[0] == keys.shape[0]
                and self.keys.stride() == keys.stride() and self.values.data_ptr() == values.data_ptr())

    def adopt(self, keys, values, columns: int) -> None:
        """Take (keys, values) tensors with room as the store; the first `columns` columns are filled."""
        self.store = (keys, values)
        self.keys, self.values = keys[:, :, :columns], values[:, :, :columns]
        self.is_initialized = True
        self.dtype, self.device = keys.dtype, keys.device

    def update(self, key_states, value_states, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        length = self.keys.shape[2] if self.keys.dim() == 4 else 0
        end = length + key_states.shape[2]
        if not self._in_store(end):  # first write, or the rows changed (someone assigned keys): copy once
            keys = _empty_like_with_room(key_states, key_states.shape[0], end)
            values = _empty_like_with_room(value_states, value_states.shape[0], end)
            if length:
                keys[:, :, :length], values[:, :, :length] = self.keys, self.values
            self.store = (keys, values)
        keys, values = self.store
        keys[:, :, length:end], values[:, :, length:end] = key_states, value_states
        self.keys, self.values = keys[:, :, :end], values[:, :, :end]
        return self.keys, self.values

    def keep_rows(self, index, first: int = 0) -> None:
        """Only the rows at `index` go on, without their first `first` columns: one copy, into a new store."""
        if not self.is_initialized or self.keys.dim() != 4:
            return
        columns = self.keys.shape[2] - first
        keys = _empty_like_with_room(self.keys, len(index), columns)
        values = _empty_like_with_room(self.values, len(index), columns)
        torch.index_select(self.keys[:, :, first:], 0, index, out=keys[:, :, :columns])
        torch.index_select(self.values[:, :, first:], 0, index, out=values[:, :, :columns])
        self.adopt(keys, values, columns)

    def batch_select_indices(self, indices) -> None:
        self.keep_rows(indices)


def new_cache(roomy: bool = True) -> DynamicCache:
    """An empty cache whose layers are roomy (or transformers' own, for benchmarks). Every layer keeps all columns,
    also in a model with sliding-window layers (the attention mask still limits what they read): rows join and
    leave by whole columns."""
    cache = DynamicCache()
    cache.layer_class_to_replicate = RoomyLayer if roomy else DynamicLayer
    return cache


def keep_rows(cache: DynamicCache, index, first: int = 0) -> None:
    """Only the rows at `index` go on, without their first `first` columns."""
    for layer in cache.layers:
        if isinstance(layer, RoomyLayer):
            layer.keep_rows(index, first)
        elif layer.is_initialized and layer.keys.dim() == 4:
            layer.keys, layer.values = layer.keys[index, :, first:], layer.values[index, :, first:]


def join_caches(caches: list[tuple[DynamicCache, int]], width: int) -> DynamicCache:
    """One cache of all the rows of `caches` ((cache, rows)), in order, each left-padded with zeros to `width`
    columns, with room after them. A cache without layers (prompts of one token: nothing read yet) is all
    padding."""
    base = next((cache for cache, _ in caches if len(cache.layers)), caches[0][0])
    total = sum(rows for _, rows in caches)
    for i, layer in enumerate(base.layers):
        if not layer.is_initialized:
            continue
        keys = _empty_like_with_room(layer.keys, total, width, zero=True)
        values = _empty_like_with_room(layer.values, total, width, zero=True)
        at = 0
        for cache, rows in caches:
            part = cache.layers[i] if i < len(cache.layers) and cache.layers[i].is_initialized else None
            if part is not None and part.keys.dim() == 4 and part.keys.shape[2]:
                filled = part.keys.shape[2]
                keys[at:at + rows, :, width - filled:width] = part.keys
                values[at:at + rows, :, width - filled:width] = part.values
            at += rows
        if isinstance(layer, RoomyLayer):
            layer.adopt(keys, values, width)
        else:
            layer.keys, layer.values = keys[:, :, :width].contiguous(), values[:, :, :width].contiguous()
    return base
