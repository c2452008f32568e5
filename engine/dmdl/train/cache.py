"""TDL folder -> training units -> cached latents and prompt embeddings on disk -> batches.

A *unit* is what the transformer sees as one sample: the layers of one poster that move
together (each with its own prompt: joint mode), or one group of them under one group
prompt (group mode), at most `max_layers` of them. A unit is scaled as the dmdl engine
scales the layers of one call (engine.dmdl.scale, engine.dmdl.resample): one factor, never
above 1, until the union of its boxes fits `side` pixels (the paper trains within 512),
each box snapped out to the 16-pixel token lattice. The frozen VAE and text encoders give
the same answer every epoch, so each unit is encoded once, written to one safetensors file
(atomically: a killed run leaves no half file, and a restarted one skips what is done), and
training reads one file per sample: memory holds a batch, never the dataset.

Batches are bucketed by token count: packing pads every sample to the longest in its batch,
so samples whose token counts round up to the same multiple of `bucket_tokens` go together.
The order of batches is a pure function of (seed, step): a resumed run, and a run on any
number of processes, sees the very same samples at the very same step.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch
from safetensors.torch import load_file, save_file
from torch.utils.data import Dataset

from engine.data.tdl import TDLDataset
from engine.dmdl.autoencoder import latent_frame_count
from engine.dmdl.errors import DMDLError
from engine.dmdl.grid import TOKEN_PIXELS
from engine.dmdl.packing import LayerPlacement, PackedLayers, pack_layers
from engine.dmdl.resample import frames_to_generated
from engine.dmdl.scale import ScaledBox, scale_boxes
from engine.dmdl.text import PromptEmbeddings


@dataclass(frozen=True)
class UnitSpec:
    """Which TDL samples form one training sample, and how it is prompted (known without images)."""

    name: str  # unique, used as the cache file name
    indices: tuple[int, ...]  # TDL sample indices, in layer order
    prompts: tuple[str, ...]  # joint mode: one per layer
    group_prompt: str | None  # group mode: one for all
    tokens: int  # packed token count (all frames, all layers, at the training scale)
    boxes: tuple[ScaledBox, ...]  # per layer: its motion box and where it is trained (scale, token lattice)


@dataclass
class Unit:
    """One cached training sample, ready to pack."""

    latents: list[torch.Tensor]  # per layer (C, T', h, w)
    placements: list[LayerPlacement]
    prompt: PromptEmbeddings  # batch of one
    position: int  # the unit's index in its split: seeds its noise


def _layer_tokens(frames: int, h: int, w: int) -> int:
    return latent_frame_count(frames) * (h // TOKEN_PIXELS) * (w // TOKEN_PIXELS)


def plan_units(tdl: TDLDataset, indices: Sequence[int], max_layers: int, side: int) -> list[UnitSpec]:
    """Units of the given samples: per poster, each group prompt's members, then the other
    layers; each unit's boxes at the scale that fits `side` (known from the index alone)."""
    if max_layers < 1:
        raise DMDLError("A training sample needs at least one layer: set --max-layers to 1 or more.")
    by_poster: dict[str, list[int]] = defaultdict(list)
    for index in indices:
        by_poster[tdl.refs[index].poster].append(index)
    units = []
    for poster, members in by_poster.items():
        records = {i: json.loads((tdl.refs[i].path / "sample.json").read_text()) for i in members}
        groups: dict[str | None, list[int]] = defaultdict(list)
        for i in sorted(members, key=lambda i: records[i]["layer_id"]):
            is_group = records[i].get("meta", {}).get("job") == "group"
            groups[records[i]["prompt"] if is_group else None].append(i)
        for group_prompt, layer_indices in sorted(groups.items(), key=lambda item: item[0] or ""):
            for start in range(0, len(layer_indices), max_layers):
                chunk = tuple(layer_indices[start : start + max_layers])
                boxes = tuple(scale_boxes([tdl.refs[i].motion_box.as_tuple() for i in chunk], side))
                tokens = sum(_layer_tokens(tdl.refs[i].frames, b.generated.h, b.generated.w)
                             for i, b in zip(chunk, boxes))
                prompts = tuple(records[i]["prompt"] for i in chunk)
                name = f"{poster}--{'group' if group_prompt else 'joint'}-{len(units):05d}"
                units.append(UnitSpec(name, chunk, prompts, group_prompt, tokens, boxes))
    return units


def fingerprint(**parts: object) -> str:
    """A short stable name for what the cache depends on (base model, isolation, data, scale)."""
    text = json.dumps({k: str(v) for k, v in sorted(parts.items())})
    return hashlib.sha1(text.encode()).hexdigest()[:12]


class LatentCache:
    """One safetensors file per unit under `folder`, written once."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, spec: UnitSpec) -> Path:
        return self.folder / f"{spec.name}.safetensors"

    def missing(self, specs: Sequence[UnitSpec]) -> list[UnitSpec]:
        return [spec for spec in specs if not self.path(spec).is_file()]

    def fill(
        self,
        tdl: TDLDataset,
        specs: Sequence[UnitSpec],
        encode_clip: Callable[[torch.Tensor], torch.Tensor],
        encode_prompt: Callable[[UnitSpec, list, list[LayerPlacement]], PromptEmbeddings],
        log: Callable[[str], None] = print,
    ) -> int:
        """Encode every unit not yet on disk; returns how many were encoded now."""
        self.folder.mkdir(parents=True, exist_ok=True)
        todo = self.missing(specs)
        for number, spec in enumerate(todo, 1):
            tensors: dict[str, torch.Tensor] = {}
            placements, statics = [], []
            for slot, (index, box) in enumerate(zip(spec.indices, spec.boxes)):
                frames = frames_to_generated(tdl.load(index).frames, box)  # as the engine draws a layer
                tensors[f"latent.{slot}"] = encode_clip(torch.from_numpy(frames)).cpu().contiguous()
                placements.append([slot, box.generated.y // TOKEN_PIXELS, box.generated.x // TOKEN_PIXELS])
                statics.append(frames[0])  # the static layer drawn into its generated box: what LLaVA sees
            prompt = encode_prompt(spec, statics, [LayerPlacement(*p) for p in placements])
            for key in ("embeds", "mask", "owner", "pooled"):
                tensors[f"prompt.{key}"] = getattr(prompt, key).detach().cpu().contiguous()
            partial = self.path(spec).with_suffix(f".tmp{os.getpid()}")
            save_file(tensors, partial, metadata={"placements": json.dumps(placements), "name": spec.name})
            partial.replace(self.path(spec))
            if number % 50 == 0 or number == len(todo):
                log(f"cached {number}/{len(todo)} samples in {self.folder}")
        return len(todo)

    def read(self, spec: UnitSpec, position: int) -> Unit:
        from safetensors import safe_open

        with safe_open(self.path(spec), "pt") as handle:
            placements = json.loads(handle.metadata()["placements"])
        tensors = load_file(self.path(spec))
        return Unit(
            latents=[tensors[f"latent.{slot}"] for slot in range(len(placements))],
            placements=[LayerPlacement(*p) for p in placements],
            prompt=PromptEmbeddings(*(tensors[f"prompt.{k}"] for k in ("embeds", "mask", "owner", "pooled"))),
            position=position,
        )


class CachedUnits(Dataset):
    """The units of one split, read from the cache one file at a time."""

    def __init__(self, cache: LatentCache, specs: Sequence[UnitSpec]):
        self.cache, self.specs = cache, list(specs)

    def __len__(self) -> int:
        return len(self.specs)

    def __getitem__(self, position: int) -> Unit:
        return self.cache.read(self.specs[position], position)


def collate_units(units: list[Unit]) -> tuple[list[Unit], PackedLayers, PromptEmbeddings]:
    """Pack a batch: (the units, their clean latents as one token tensor, their prompts)."""
    packed = pack_layers([u.latents for u in units], [u.placements for u in units])
    return units, packed, PromptEmbeddings.stack([u.prompt for u in units])


class TokenBucketBatches:
    """Global batches of `batch_size * world` positions from one token bucket; this rank's slice.

    A bucket smaller than a batch is filled round-robin from itself, so every batch is full
    and every process gets as many samples (no rank waits on another at the last batch).
    """

    def __init__(self, tokens: Sequence[int], batch_size: int, bucket_tokens: int, seed: int,
                 rank: int = 0, world: int = 1):
        if batch_size < 1:
            raise DMDLError("--batch-size must be at least 1.")
        self.size, self.seed, self.rank, self.world = batch_size, seed, rank, world
        buckets: dict[int, list[int]] = defaultdict(list)
        for position, count in enumerate(tokens):
            buckets[-(-count // max(1, bucket_tokens))].append(position)
        self.buckets = [buckets[key] for key in sorted(buckets)]

    def epoch(self, number: int) -> list[list[int]]:
        """Every global batch of epoch `number`, in order: a pure function of the seed and the epoch."""
        rng = random.Random(self.seed * 1_000_003 + number)
        need = self.size * self.world
        batches = []
        for bucket in self.buckets:
            order = list(bucket)
            rng.shuffle(order)
            count = -(-len(order) // need)
            filled = [order[k % len(order)] for k in range(count * need)]
            batches += [filled[k : k + need] for k in range(0, len(filled), need)]
        rng.shuffle(batches)
        return batches

    def from_step(self, step: int) -> Iterator[list[int]]:
        """This rank's positions for steps `step`, `step` + 1, …: resuming is starting later."""
        per_epoch = len(self.epoch(0))
        epoch, skip = divmod(step, per_epoch)
        while True:
            for batch in self.epoch(epoch)[skip:]:
                yield batch[self.rank * self.size : (self.rank + 1) * self.size]
            epoch, skip = epoch + 1, 0
