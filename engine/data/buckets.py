"""Batches of equally shaped TDL clips, for a torch DataLoader.

Layers come in every size; stacking needs one shape per batch. Rather than padding (which
would waste attention on empty tokens and teach the decoder about fake borders), samples
are grouped into buckets of identical (frames, height, width) and each batch is drawn
from one bucket.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from engine.data.tdl import TDLDataset
from engine.core.poster import Box


class BucketBatchSampler(Sampler[list[int]]):
    """Yields lists of indices whose clips share one shape; shuffled per epoch when asked."""

    def __init__(self, shapes: Sequence[tuple[int, ...]], batch_size: int, shuffle: bool = True, seed: int = 0):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.batch_size, self.shuffle, self.seed, self.epoch = batch_size, shuffle, seed, 0
        self.buckets: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for index, shape in enumerate(shapes):
            self.buckets[tuple(shape)].append(index)

    def _batches(self) -> list[list[int]]:
        rng = random.Random(self.seed + self.epoch)
        batches = []
        for indices in self.buckets.values():
            indices = list(indices)
            if self.shuffle:
                rng.shuffle(indices)
            batches += [indices[i : i + self.batch_size] for i in range(0, len(indices), self.batch_size)]
        if self.shuffle:
            rng.shuffle(batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._batches()
        self.epoch += 1
        return iter(batches)

    def __len__(self) -> int:
        return sum(-(-len(indices) // self.batch_size) for indices in self.buckets.values())


class ClipDataset(Dataset):
    """TDL samples as (frames uint8 tensor (T, h, w, 4), motion box, index) triples."""

    def __init__(self, tdl: TDLDataset, indices: Sequence[int] | None = None):
        self.tdl = tdl
        self.indices = list(range(len(tdl))) if indices is None else list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def shapes(self) -> list[tuple[int, int, int]]:
        return [self.tdl.refs[index].shape for index in self.indices]

    def __getitem__(self, position: int) -> tuple[torch.Tensor, Box, int]:
        index = self.indices[position]
        sample = self.tdl.load(index)
        return torch.from_numpy(sample.frames), sample.motion_box, index


def collate_clips(items: list[tuple[torch.Tensor, Box, int]]) -> tuple[torch.Tensor, list[Box], list[int]]:
    frames, boxes, indices = zip(*items)
    return torch.stack(frames), list(boxes), list(indices)


def bucketed_loader(
    clips: ClipDataset, batch_size: int, shuffle: bool = True, seed: int = 0, num_workers: int = 0
) -> DataLoader:
    """A DataLoader whose every batch is (B, T, h, w, 4) uint8 frames, B boxes, B dataset indices."""
    sampler = BucketBatchSampler(clips.shapes(), batch_size, shuffle, seed)
    return DataLoader(clips, batch_sampler=sampler, collate_fn=collate_clips, num_workers=num_workers)
