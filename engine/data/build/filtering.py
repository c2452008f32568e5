"""Stage III: keep only clips that move, stay themselves, and match their prompt (paper §3).

Scores are kept on every sample, accepted or not, and a rejection names the score and the
threshold it missed, so thresholds can be tuned from the manifest without rebuilding:
- **temporal dynamics**: SSIM between consecutive frames over gray. A clip whose frames
  are all nearly identical (mean SSIM above `still_above`) does not move; one with a jump
  (some pair below `flicker_below`) flickers.
- **semantic consistency**: cosine similarity between image-encoder embeddings of the
  first frame and each later one (CLIP or SigLIP from a local folder through transformers;
  BLIP in the paper); the lowest must stay above `consistency_min`, so the layer does not
  turn into something else.
- **text–video alignment** (optional): the stage-I vision LLM rates, 1 to 5, how well three
  frames match the prompt; below `alignment_min` is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import json

import numpy as np
import pydantic
import torch
from PIL import Image
from pydantic import BaseModel, ConfigDict

from engine.dmdl.metrics import over_gray, ssim

if TYPE_CHECKING:
    from engine.planning.llm import LLMSettings

#: Frames the alignment judge sees, side by side over gray: first, middle, last.
ALIGNMENT_FRAMES = 3
ALIGNMENT_PROMPT = """You check a dataset of animated transparent layers. The picture shows the first, middle and
last frame of one layer's clip, left to right, over gray. Rate from 1 (not at all) to 5 (exactly) how well the
motion between them matches the motion prompt, and say why in one short sentence. Answer with JSON only."""


@dataclass(frozen=True)
class Thresholds:
    still_above: float = 0.995
    flicker_below: float = 0.5
    consistency_min: float = 0.8
    alignment_min: int = 3


@dataclass
class Verdict:
    accepted: bool
    scores: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)


#: Dynamics are judged on frames scaled to at most this many pixels a side: motion and
#: flicker show at that size, and SSIM's cost grows with the area.
DYNAMICS_SIDE = 128


def dynamics(frames: np.ndarray) -> dict[str, float]:
    """Mean and lowest SSIM between consecutive frames, over gray."""
    clip = over_gray(frames)
    scale = DYNAMICS_SIDE / max(clip.shape[1:3])
    if scale < 1:
        size = (max(1, round(clip.shape[1] * scale)), max(1, round(clip.shape[2] * scale)))
        clip = torch.nn.functional.interpolate(clip.permute(0, 3, 1, 2), size=size, mode="area").permute(0, 2, 3, 1)
    pairs = [ssim(clip[t : t + 1], clip[t + 1 : t + 2]) for t in range(len(clip) - 1)]
    return {"ssim_mean": float(np.mean(pairs)), "ssim_min": float(np.min(pairs))}


class ImageEncoder:
    """CLIP/SigLIP image embeddings from a local transformers folder (nothing downloaded)."""

    def __init__(self, folder: str | Path, device: str = "cpu") -> None:
        from transformers import AutoImageProcessor, AutoModel  # noqa: PLC0415 (slow import)

        self.processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
        self.model = AutoModel.from_pretrained(folder, local_files_only=True).to(device).eval()
        self.device = device

    @torch.no_grad()
    def __call__(self, frames: np.ndarray) -> torch.Tensor:
        rgb = (over_gray(frames).numpy() * 255).round().astype(np.uint8)
        inputs = self.processor(images=list(rgb), return_tensors="pt").to(self.device)
        features = self.model.get_image_features(**inputs)
        if not isinstance(features, torch.Tensor):  # newer transformers return an output object
            features = features.pooler_output
        return torch.nn.functional.normalize(features.float(), dim=-1)


def consistency(encoder: ImageEncoder, frames: np.ndarray) -> float:
    """Lowest cosine similarity between the first frame and any later frame."""
    embeddings = encoder(frames)
    return float((embeddings[1:] @ embeddings[0]).min())


class AlignmentAnswer(BaseModel):
    """The judge's answer (sent as a strict Structured Outputs schema)."""

    model_config = ConfigDict(extra="forbid")
    score: int
    reason: str


def alignment(frames: np.ndarray, prompt: str, settings: "LLMSettings") -> tuple[int | None, str]:
    """The vision LLM's 1–5 rating of how well the clip shows `prompt`, and its reason.

    A failed or out-of-range answer gives (None, why): the clip is then judged on its
    other scores, and the manifest says the alignment could not be measured.
    """
    import openai  # noqa: PLC0415 (slow import)

    from engine.planning.thumbnail import png_data_url  # noqa: PLC0415

    picks = np.linspace(0, len(frames) - 1, ALIGNMENT_FRAMES).round().astype(int)
    strip = (over_gray(frames[picks]).numpy() * 255).round().astype(np.uint8)
    picture = Image.fromarray(np.concatenate(list(strip), axis=1))
    picture.thumbnail((768, 768))
    messages = [
        {"role": "system", "content": ALIGNMENT_PROMPT},
        {"role": "user", "content": [
            {"type": "text", "text": json.dumps({"motion_prompt": prompt}, ensure_ascii=False)},
            {"type": "image_url", "image_url": {"url": png_data_url(picture), "detail": "low"}},
        ]},
    ]
    try:
        response = settings.client().chat.completions.parse(
            model=settings.model, messages=messages, response_format=AlignmentAnswer)
        answer = response.choices[0].message.parsed if response.choices else None
    except (openai.OpenAIError, pydantic.ValidationError, ValueError, TypeError) as error:
        return None, f"the alignment judge failed ({type(error).__name__})"
    if answer is None or not 1 <= answer.score <= 5:
        return None, "the alignment judge gave no score from 1 to 5"
    return answer.score, answer.reason[:200]


def judge(frames: np.ndarray, thresholds: Thresholds, encoder: ImageEncoder | None = None,
          alignment: int | None = None) -> Verdict:
    """Score one clip and decide; every score that was measured is kept."""
    verdict = Verdict(accepted=True)
    verdict.scores.update(dynamics(frames))
    if verdict.scores["ssim_mean"] > thresholds.still_above:
        verdict.reasons.append(f"too still: consecutive-frame SSIM {verdict.scores['ssim_mean']:.4f} > {thresholds.still_above}")
    if verdict.scores["ssim_min"] < thresholds.flicker_below:
        verdict.reasons.append(f"flickers: a frame-to-frame SSIM of {verdict.scores['ssim_min']:.3f} < {thresholds.flicker_below}")
    if encoder is not None:
        verdict.scores["consistency"] = consistency(encoder, frames)
        if verdict.scores["consistency"] < thresholds.consistency_min:
            verdict.reasons.append(f"changes identity: first-to-later similarity {verdict.scores['consistency']:.3f} "
                                   f"< {thresholds.consistency_min}")
    else:
        verdict.scores["consistency"] = None
    verdict.scores["alignment"] = alignment
    if alignment is not None and alignment < thresholds.alignment_min:
        verdict.reasons.append(f"does not match its prompt: rated {alignment}/5 < {thresholds.alignment_min}")
    verdict.accepted = not verdict.reasons
    return verdict
