"""The dmdl engine made servable: the 512 px training scale, offload, the CLI and editor modes, assembly.

Everything runs the real code on a tiny random DMDL checkpoint (tests/helpers/dmdl_tiny):
the layers of a large box are generated at the training scale on the token grid and come
back undistorted with frame 0 the static layer exactly; model offload runs the same
generation through accelerate's hooks; joint and group mode go through the CLI and the
editor with the weights loaded once; a folder assembled from a HunyuanVideo-I2V-shaped
base and the trained parts animates exactly like the checkpoint they came from.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.core.poster import Box, PosterError
from engine.dmdl import DMDLPipeline
from engine.dmdl.assemble import assemble, main as assemble_main
from engine.dmdl.errors import DMDLError
from engine.dmdl.grid import TOKEN_PIXELS
from engine.dmdl.packing import LayerPlacement
from engine.dmdl.scale import scale_boxes
from engine.motion import registry
from engine.motion.base import MotionRequest
from engine.motion.dmdl_engine import DMDLAnimator
from tests.helpers.dmdl_tiny import hunyuan_i2v_checkpoint, one_thread, tiny_dmdl_folder  # noqa: F401
from tests.helpers.layers import solid_layer
from tests.helpers.psd_factory import write_layered_psd

FAST = {"steps": 1, "resolution": 64}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """One tiny DMDL checkpoint for the module (building it is the slow part)."""
    return tiny_dmdl_folder(tmp_path_factory.mktemp("dmdl-serving"))


@pytest.fixture
def use_checkpoint(checkpoint, monkeypatch) -> Path:
    monkeypatch.setenv("DMDL_CHECKPOINT", str(checkpoint))
    monkeypatch.setenv("DMDL_DEVICE", "cpu")
    monkeypatch.delenv("DMDL_OFFLOAD", raising=False)
    registry.release()
    yield checkpoint
    registry.release()


@pytest.fixture
def loads(monkeypatch) -> list[str]:
    """Every read of a DMDL checkpoint from disk."""
    seen: list[str] = []
    original = DMDLPipeline.from_checkpoint.__func__

    def counted(cls, directory, *args, **kwargs):
        seen.append(str(directory))
        return original(cls, directory, *args, **kwargs)

    monkeypatch.setattr(DMDLPipeline, "from_checkpoint", classmethod(counted))
    return seen


@pytest.fixture
def calls(monkeypatch) -> list[dict]:
    """What every DMDLPipeline call was given (static latents, placements, prompts)."""
    seen: list[dict] = []
    original = DMDLPipeline.__call__

    def spy(self, static_latents, placements, **kwargs):
        seen.append(dict(statics=[s.shape for s in static_latents], placements=list(placements), **kwargs))
        return original(self, static_latents, placements, **kwargs)

    monkeypatch.setattr(DMDLPipeline, "__call__", spy)
    return seen


# --- the training scale -------------------------------------------------------------------


@pytest.mark.parametrize("boxes, side", [
    ([(0, 0, 1024, 512), (512, 512, 256, 256)], 512),
    ([(100, 37, 900, 1300), (5, 7, 30, 30)], 512),  # a tall poster: a big layer and a tiny far one
    ([(0, 0, 510, 100)], 512),  # fits at full size, but not once snapped to the grid
    ([(333, 777, 2000, 1500)], 64),
    ([(16, 16, 64, 32)], 512),  # small: generated where it is, untouched
])
def test_boxes_are_scaled_together_onto_the_token_grid_within_the_training_canvas(boxes, side):
    scaled = scale_boxes(boxes, side)
    scale = scaled[0].scale
    assert all(s.scale == scale for s in scaled) and 0 < scale <= 1
    gens = [s.generated for s in scaled]
    union = max(max(g.right for g in gens) - min(g.x for g in gens), max(g.bottom for g in gens) - min(g.y for g in gens))
    assert union <= side, "the packed canvas fits the training size"
    for s in scaled:
        g, p = s.generated, s.poster
        assert all(v % TOKEN_PIXELS == 0 for v in g.as_tuple()) and g.w >= TOKEN_PIXELS and g.h >= TOKEN_PIXELS
        left, top, right, bottom = s.poster_region()
        assert -1e-9 <= left and -1e-9 <= top and right <= g.w + 1e-9 and bottom <= g.h + 1e-9, "covers the box"
        assert np.isclose((right - left) / p.w, scale) and np.isclose((bottom - top) / p.h, scale), "undistorted"
        assert s.source.contains(p)
        sl, st, sr, sb = s.source_region()
        assert np.isclose((sr - sl) * scale, g.w) and np.isclose((sb - st) * scale, g.h)
    if scale == 1.0:  # generated where it is: the box snapped out to the lattice, nothing resampled
        assert [Box(*s.generated) for s in scaled] == [Box(*b).snap_out(TOKEN_PIXELS) for b in boxes]
        assert all(s.source == s.generated and s.poster_region()[0] == s.poster.x - s.generated.x for s in scaled)


def test_a_large_box_is_generated_at_the_training_scale_and_comes_back(use_checkpoint, calls, monkeypatch):
    statics = []
    encode = DMDLPipeline.encode_static
    monkeypatch.setattr(DMDLPipeline, "encode_static", lambda self, rgba: statics.append(rgba) or encode(self, rgba))
    big = solid_layer(2, "Balloon", Box(200, 100, 300, 400), (200, 40, 40, 255))
    small = solid_layer(3, "Bird", Box(900, 1000, 40, 20), (20, 20, 20, 255))
    requests = [
        MotionRequest(layer=big, box=Box(150, 40, 420, 560), prompt="the balloon rises", frames=5, params=FAST),
        MotionRequest(layer=small, box=Box(880, 980, 80, 60), prompt="the bird flies", frames=5, params=FAST),
    ]
    clips = DMDLAnimator().animate(requests)
    [call] = calls
    scale = scale_boxes([r.box for r in requests], 64)[0].scale
    assert 0.05 < scale <= 64 / 1000, "the union of the boxes is 1000 px tall: about 64 px once snapped"
    extents = [(p.left * TOKEN_PIXELS, p.top * TOKEN_PIXELS, s[-1] * 8, s[-2] * 8)
               for p, s in zip(call["placements"], call["statics"])]
    right = max(x + w for x, _, w, _ in extents) - min(x for x, *_ in extents)
    bottom = max(y + h for _, y, _, h in extents) - min(y for _, y, *_ in extents)
    assert max(right, bottom) <= 64, "the packed canvas is at the generation scale"
    # The static layer is drawn at that scale, undistorted, inside its grid box.
    alpha = statics[0][..., 3] > 127
    rows, cols = np.flatnonzero(alpha.any(1)), np.flatnonzero(alpha.any(0))
    assert abs((rows[-1] - rows[0] + 1) - 400 * scale) <= 1.5 and abs((cols[-1] - cols[0] + 1) - 300 * scale) <= 1.5
    assert abs(extents[0][1] + rows[0] - 100 * scale) <= 1.5 and abs(extents[0][0] + cols[0] - 200 * scale) <= 1.5
    for clip, request in zip(clips, requests):
        assert clip.frames.shape == (5, request.box.h, request.box.w, 4)
        dx, dy = request.layer.box.x - request.box.x, request.layer.box.y - request.box.y
        static = np.zeros((request.box.h, request.box.w, 4), np.uint8)
        static[dy: dy + request.layer.box.h, dx: dx + request.layer.box.w] = request.layer.pixels
        assert np.array_equal(clip.frames[0], static), "frame 0 is the static layer, exactly"
        assert not np.array_equal(clip.frames[2], clip.frames[0]), "later frames are generated"


# --- offload ------------------------------------------------------------------------------


def test_model_offload_runs_the_same_generation_through_accelerate_hooks(use_checkpoint, monkeypatch):
    engine = DMDLAnimator()
    sun = solid_layer(2, "Sun", Box(20, 10, 12, 12), (250, 200, 40, 200))
    request = MotionRequest(layer=sun, box=Box(16, 0, 32, 32), prompt="the sun rises", frames=5, params={"steps": 2})
    [plain] = engine.animate([request])
    monkeypatch.setenv("DMDL_OFFLOAD", "model")
    assert engine.resolve_params({})[0]["offload"] == "model"
    [offloaded] = engine.animate([request])
    pipe = engine.pipeline("model")
    assert all(hasattr(getattr(pipe, name), "_hf_hook") for name in ("vae", "text_encoder", "transformer",
                                                                       "layer_decoder")), "accelerate's hooks"
    assert pipe.vae.use_tiling and pipe._execution_device == torch.device("cpu:0")
    assert np.array_equal(plain.frames, offloaded.frames), "offloading changes where weights wait, not the result"
    assert offloaded.params["offload"] == "model"
    monkeypatch.setenv("DMDL_OFFLOAD", "sometimes")
    assert engine.available() == (False, "DMDL_OFFLOAD must be one of none, model, sequential; got 'sometimes'.")
    monkeypatch.setenv("DMDL_OFFLOAD", "sequential")  # on the CPU it is refused with a reason, not crashed
    with pytest.raises(PosterError, match="Offloading layer by layer needs a GPU"):
        engine.animate([request])
    engine.release()
    assert not engine.loaded


def test_sequential_offload_builds_every_input_on_the_execution_device(checkpoint):
    """Placed layer by layer with the "meta" device as the accelerator (no GPU here; a CUDA
    device would be touched by accelerate while placing), the weights wait off the device
    and the encoder, the packing and the decoder all run where the hooks execute: a tensor
    built on a component's own device would not be on "meta"."""
    pipe = DMDLPipeline.from_checkpoint(checkpoint).place("meta", "sequential")
    assert pipe._execution_device.type == "meta" and pipe.vae.use_tiling
    assert all(hasattr(module, "_hf_hook") for module in pipe.transformer.modules() if list(module.parameters(False)))
    static = pipe.encode_static(np.zeros((32, 32, 4), np.uint8))
    assert static.device.type == "meta" and static.shape == (16, 1, 4, 4)
    condition = pipe.build_condition([static], [LayerPlacement(index=0, top=1, left=2)], 5)
    assert condition.tokens.device.type == "meta" and pipe.prompt_encoder.device.type == "meta"
    [frames] = pipe.layer_decoder.decode([torch.zeros(16, 2, 4, 4)], [(32, 16, 32, 32)], device=pipe._execution_device)
    assert frames.device.type == "meta" and frames.shape == (5, 32, 32, 4)


# --- joint and group mode: CLI and editor, one load ---------------------------------------


def test_cli_runs_joint_and_group_mode_with_one_load(use_checkpoint, loads, calls, tmp_path, monkeypatch):
    from engine.__main__ import main as cli_main

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    poster = str(write_layered_psd(tmp_path / "small.psd"))  # 96×80: the sample posters cost seconds to parse
    common = ["--engine", "dmdl", "--param", "steps=1", "--param", "resolution=64", "--frames", "5", "--quiet"]
    joint = ["animate", poster, "--layer", "Sun", "--prompt", "the sun rises",
             "--layer", "Overlay", "--prompt", "the square waves", "--out", str(tmp_path / "joint.mp4"), *common]
    group = ["animate", poster, "--layer", "Multiply", "--layer", "Screen", "--prompt",
             "the shapes drift", "--out", str(tmp_path / "group.zip"), *common]
    assert cli_main(joint) == 0 and cli_main(group) == 0
    assert (tmp_path / "joint.mp4").stat().st_size > 0 and (tmp_path / "group.zip").stat().st_size > 0
    assert [(c["prompts"], c["group_prompt"]) for c in calls] == [
        (["the sun rises", "the square waves"], None), (None, "the shapes drift")]
    assert [len(c["placements"]) for c in calls] == [2, 2] and all(c["num_inference_steps"] == 1 for c in calls)
    assert loads == [str(use_checkpoint)], "two commands, four layers: the weights loaded once"


def test_the_editor_animates_joint_and_group_batches_with_dmdl(use_checkpoint, loads, calls, tiny_poster, tmp_path):
    from app import animating, handlers
    from app.motion_panel import MotionFields
    from app.persist import restore
    from app.session import SessionStore
    from app.state import EditorState
    from engine.core.project import Project, Timeline

    session, _ = SessionStore(tmp_path / "data", restore=restore).open(None)
    session.state = EditorState(project=Project(poster=tiny_poster, timeline=Timeline(fps=6, frames=5), source=""))
    handlers.set_selection(session, [2, 3])
    for layer_id, prompt in ((2, "the sun rises"), (3, "the title waves")):
        view = handlers.edit_motion(session, layer_id, MotionFields(engine="dmdl", prompt=prompt, params=FAST))
        assert not view.get("error"), view["status"]
    view = animating.animate(session, "selected")
    assert not view.get("error"), view["status"]
    handlers.apply_group_prompt(session, "everything floats")
    view = animating.animate(session, "selected")
    assert not view.get("error"), view["status"]
    assert [(c["prompts"], c["group_prompt"]) for c in calls] == [
        (["the sun rises", "the title waves"], None), (None, "everything floats")]
    assert {clip.engine for clip in session.state.clips.values()} == {"dmdl"} and set(session.state.clips) == {2, 3}
    assert len(loads) == 1


# --- assembling a DMDL folder -------------------------------------------------------------


def test_an_assembled_folder_animates_exactly_like_its_parts(checkpoint, tmp_path, monkeypatch, loads):
    base = hunyuan_i2v_checkpoint(tmp_path / "hunyuan-i2v")
    out = assemble(base, checkpoint / "transformer", checkpoint / "layer_decoder", tmp_path / "assembled")
    index = json.loads((out / "model_index.json").read_text())
    assert index["_class_name"] == "DMDLPipeline" and index["layer_decoder"] == ["engine.dmdl.layer_decoder",
                                                                                "LayerDecoder"]
    assert (out / "vae").is_symlink() and (out / "vae").resolve() == (base / "vae").resolve()
    assert (out / "image_processor").is_symlink() and "image_processor" in index  # LLaVA reads the layers
    monkeypatch.setenv("DMDL_DEVICE", "cpu")
    monkeypatch.delenv("DMDL_OFFLOAD", raising=False)
    sun = solid_layer(2, "Sun", Box(20, 10, 12, 12), (250, 200, 40, 200))
    request = MotionRequest(layer=sun, box=Box(16, 0, 32, 32), prompt="the sun rises", frames=5, params={"steps": 2})
    frames = []
    for folder in (checkpoint, out):
        monkeypatch.setenv("DMDL_CHECKPOINT", str(folder))
        frames.append(DMDLAnimator().animate([request])[0].frames)
    assert loads == [str(checkpoint), str(out)] and np.array_equal(*frames)

    copied = tmp_path / "copied"
    assert assemble_main(["--base", str(base), "--transformer", str(checkpoint / "transformer"),
                          "--layer-decoder", str(checkpoint / "layer_decoder"), "--out", str(copied), "--copy"]) == 0
    assert not (copied / "text_encoder").is_symlink() and (copied / "text_encoder" / "config.json").is_file()


def test_assembly_refuses_wrong_or_missing_parts_before_writing(checkpoint, tmp_path, capsys):
    transformer, decoder = checkpoint / "transformer", checkpoint / "layer_decoder"

    def refused(base, t, d, out=tmp_path / "out") -> str:
        with pytest.raises(DMDLError) as caught:
            assemble(base, t, d, out)
        assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out-*"))
        return str(caught.value)

    assemble(checkpoint, transformer, decoder, tmp_path / "from-dmdl")  # a DMDL folder is a base too (new parts)
    assert "does not exist; check --base" in refused(tmp_path / "nowhere", transformer, decoder)
    base = tmp_path / "base"
    base.mkdir()
    (base / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    assert "is a StableDiffusionPipeline, not a HunyuanVideoImageToVideoPipeline" in refused(base, transformer, decoder)
    index = json.loads((checkpoint / "model_index.json").read_text())
    (base / "model_index.json").write_text(json.dumps({**index, "_class_name": "HunyuanVideoImageToVideoPipeline"}))
    for part in ("text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2", "image_processor", "scheduler"):
        (base / part).symlink_to(checkpoint / part)
    assert "lacks vae" in refused(base, transformer, decoder)
    (base / "vae").symlink_to(checkpoint / "vae")
    assert "--transformer" in refused(base, checkpoint / "vae", decoder)
    assert "holds a DMDLTransformer, not a LayerDecoder" in refused(base, transformer, transformer)
    narrow = tmp_path / "narrow-decoder"
    shutil.copytree(decoder, narrow)
    config = json.loads((narrow / "config.json").read_text())
    (narrow / "config.json").write_text(json.dumps({**config, "latent_channels": 8}))
    assert "reads 8-channel latents but the base's VAE makes 16" in refused(base, transformer, narrow)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    assert "already exists" in refused(base, transformer, decoder, tmp_path / "taken")
    assert assemble_main(["--base", str(base), "--transformer", str(checkpoint / "vae"), "--layer-decoder",
                          str(decoder), "--out", str(tmp_path / "out")]) == 3
    assert "error: --transformer" in capsys.readouterr().err
