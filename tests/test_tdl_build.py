"""The TDL builder (engine.data.build) end to end on CPU.

Stage I talks to a real OpenAI-compatible HTTP server on localhost (tests/helpers/
chat_server.py) whose answers this file writes; stage II runs the real `i2v` engine on a
tiny random LTX pipeline; stage III the real filters with a tiny random CLIP. The Ray
executor runs on a local Ray with 2 CPUs started by the test.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.core.poster import PosterError
from engine.data.build.filtering import ImageEncoder, Thresholds, judge
from engine.data.build.pipeline import build
from engine.data.build.sources import file_sha256, find_sources
from engine.data.build import stages
from engine.data.build.stages import BuildConfig, Filter, Synthesizer
from engine.data.build.synthesis import split_by_propagation
from engine.data.tdl import TDLDataset
from engine.planning.llm import LLMSettings
from tests.helpers import i2v_tiny
from tests.helpers.chat_server import MODEL, ChatServer, Received, Reply, completion
from tests.helpers.dmdl_tiny import one_thread  # noqa: F401 (autouse fixture)
from tests.helpers.image_encoder_tiny import tiny_clip
from tests.helpers.paths import ASSETS_DIR, CORPUS_DIR
from tests.helpers.tdl_sources import plausible_vlm, prism_poster

SAMPLES = ASSETS_DIR / "samples"
FRAMES = 5


@pytest.fixture(scope="module")
def chat():
    server = ChatServer()
    server.responder = plausible_vlm
    yield server
    server.close()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("build-models")
    return i2v_tiny.BUILDERS["LTXImageToVideoPipeline"](root / "ltx"), tiny_clip(root / "clip")


def config_for(out, chat, models, **extra) -> BuildConfig:
    return BuildConfig(out=str(out), frames=FRAMES, engine_params=(("resolution", i2v_tiny.TINY_RESOLUTION), ("steps", 1)),
                       llm=LLMSettings(api_key="sk-test", base_url=chat.base_url, model=MODEL, timeout=10, max_retries=0),
                       encoder=str(models[1]), thresholds=Thresholds(still_above=0.9999, flicker_below=0.05), **extra)


@pytest.fixture
def i2v_model(models, monkeypatch):
    monkeypatch.setenv("I2V_MODEL", str(models[0]))


def test_sources_keep_provenance(tmp_path):
    psds = tmp_path / "studio"
    (psds / "a").mkdir(parents=True)
    (psds / "b").mkdir()
    for folder in ("a", "b"):
        (psds / folder / "ocean.psd").write_bytes((SAMPLES / "ocean.psd").read_bytes())
    (psds / "a" / "LICENSE").write_text("CC-BY-4.0 (c) Studio A\nfull text…")
    sources = find_sources([psds], default_license="internal")
    assert [s.name for s in sources][0] == "ocean" and sources[1].name.startswith("ocean-"), "names made unique"
    assert {s.license for s in sources} == {"CC-BY-4.0 (c) Studio A", "internal"}
    assert sources[0].sha256 == file_sha256(SAMPLES / "ocean.psd")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PosterError, match="No posters"):
        find_sources([tmp_path / "empty"])


def test_group_split_follows_each_member_and_adds_up_to_the_merged_alpha():
    frames = np.zeros((4, 40, 60, 4), np.uint8)
    yy, xx = np.mgrid[:40, :60]
    for t in range(4):  # two discs of the same colour moving apart
        for cx in (20 - 2 * t, 40 + 2 * t):
            frames[t][(xx - cx) ** 2 + (yy - 20) ** 2 < 64] = (200, 50, 50, 255)
    masks = [((xx - 20) ** 2 + (yy - 20) ** 2 < 64).astype(np.uint8) * 255,
             ((xx - 40) ** 2 + (yy - 20) ** 2 < 64).astype(np.uint8) * 255]
    left, right = split_by_propagation(frames, masks)
    assert np.array_equal(np.maximum(left[..., 3], right[..., 3]), frames[..., 3])
    assert not (left[..., 3] & right[..., 3]).any()
    for t in range(4):
        assert abs(np.argwhere(left[t, ..., 3])[:, 1].mean() - (20 - 2 * t)) < 0.5
        assert abs(np.argwhere(right[t, ..., 3])[:, 1].mean() - (40 + 2 * t)) < 0.5


def test_filters_reject_a_still_clip_and_a_flickering_one(models):
    rng = np.random.default_rng(0)
    base = np.zeros((FRAMES, 32, 32, 4), np.uint8)
    base[:, 8:24, 8:24] = (30, 160, 90, 255)
    moving = base.copy()
    for t in range(FRAMES):
        moving[t] = np.roll(base[t], t, axis=1)
    flicker = base.copy()
    flicker[2] = rng.integers(0, 256, (32, 32, 4), dtype=np.uint8)
    encoder, thresholds = ImageEncoder(models[1]), Thresholds(consistency_min=-1.0)
    still, flickering, good = (judge(c, thresholds, encoder) for c in (base, flicker, moving))
    assert not still.accepted and "too still" in still.reasons[0]
    assert not flickering.accepted and any("flickers" in r for r in flickering.reasons)
    assert good.accepted and good.reasons == [] and -1.0 <= good.scores["consistency"] <= 1.0
    strict = judge(moving, Thresholds(consistency_min=1.01), encoder)
    assert not strict.accepted and "changes identity" in strict.reasons[0]


def test_loop_build_with_a_malformed_answer_and_a_killed_run(tmp_path, chat, models, i2v_model, monkeypatch):
    """Corpus and sample PSDs; one poster's answers are not JSON (that poster fails with a
    logged reason, not the run); the first run is killed after two synthesis jobs and the
    second resumes without redoing them."""
    sources = find_sources([SAMPLES / "flower.psd", CORPUS_DIR / "psd-tools__psd-tools" / "tests" / "psd_files" / "masks.psd",
                            prism_poster(tmp_path / "prism" / "balloon")])

    def responder(received: Received, attempt: int) -> Reply:
        if any(l["name"] == "Balloon" for l in received.payload["layers"]):
            return Reply(body=completion("this is not JSON"))
        return plausible_vlm(received, attempt)

    chat.responder = responder
    made: list[str] = []
    for name in ("object_clip", "text_clip", "group_clips"):
        real_maker = getattr(stages, name)
        monkeypatch.setattr(stages, name, _counted(real_maker, name, made))
    jobs = 0
    real = Synthesizer.__call__

    def killing(self, row):
        nonlocal jobs
        jobs += 1
        if jobs == 3:
            raise KeyboardInterrupt  # the build is killed in stage II, before its third job
        return real(self, row)

    monkeypatch.setattr(Synthesizer, "__call__", killing)
    config = config_for(tmp_path / "tdl", chat, models)
    with pytest.raises(KeyboardInterrupt):
        build(sources, config, executor="loop")
    first = list(made)
    assert first == ["flower:object_clip", "flower:text_clip"]
    made.clear()
    manifest = build(sources, config, executor="loop")
    chat.responder = plausible_vlm
    assert manifest["posters"]["balloon"]["status"] == "failed"
    assert "not follow the schema" in manifest["posters"]["balloon"]["reason"] or "no usable" in manifest["posters"]["balloon"]["reason"]
    assert manifest["posters"]["flower"]["status"] == "written"
    assert "flower:group_clips" in made and not set(first) & set(made), "staged jobs are read back, not regenerated"
    dataset = TDLDataset(tmp_path / "tdl")
    flower = [dataset.load(i) for i in dataset.poster_groups()["flower"]]
    assert len(flower) >= 3
    for sample in flower:
        assert sample.motion_box.contains(sample.static_box) and sample.frames.shape[0] == FRAMES
        assert sample.meta["scores"]["ssim_mean"] > 0 and sample.prompt
        assert np.array_equal(sample.frames[0][..., 3] > 0, _placed_alpha(sample) > 0)
    group = [s for s in flower if s.meta["job"] == "group"]
    assert len(group) == 2 and all("propagation" in s.meta["split"] for s in group)
    record = json.loads((tmp_path / "tdl" / "flower" / "poster.json").read_text())
    assert record["provenance"]["sha256"] == file_sha256(SAMPLES / "flower.psd")
    assert record["group_prompts"] == ["they sway together in the breeze"]

    made.clear()
    again = build(sources, config, executor="loop")  # idempotent: nothing left to do
    assert made == [] and again["counts"] == manifest["counts"]
    assert all(r.motion_box.w % 16 == 0 and r.motion_box.h % 16 == 0 for r in dataset.refs), "on the token grid"


def _counted(maker, name: str, made: list[str]):
    def counted(engine, poster, *args, **kwargs):
        made.append(f"{poster.name}:{name}")
        return maker(engine, poster, *args, **kwargs)

    return counted


def _placed_alpha(sample) -> np.ndarray:
    out = np.zeros(sample.frames.shape[1:3], np.uint8)
    dx, dy = sample.static_box.x - sample.motion_box.x, sample.static_box.y - sample.motion_box.y
    out[dy : dy + sample.static_box.h, dx : dx + sample.static_box.w] = sample.static[..., 3]
    return out


def test_ray_and_loop_build_the_same_dataset(tmp_path, chat, models, i2v_model, local_ray):
    """The Ray executor (the session's local Ray, 2 CPUs) runs the same stages as the loop:
    same samples, same pixels. The model folder reaches the workers through the config."""
    sources = find_sources([prism_poster(tmp_path / "prism" / name, extra_objects=2) for name in ("kites", "boats")])
    on_ray = build(sources, config_for(tmp_path / "ray", chat, models), executor="ray")
    in_loop = build(sources, config_for(tmp_path / "loop", chat, models), executor="loop")
    assert on_ray["executor"] == "ray" and on_ray["counts"] == in_loop["counts"]
    assert on_ray["counts"]["stage III accepted"] == 8, "per poster: one text layer, one object, a group of two"
    a, b = TDLDataset(tmp_path / "ray"), TDLDataset(tmp_path / "loop")
    assert [r.path.relative_to(a.root) for r in a.refs] == [r.path.relative_to(b.root) for r in b.refs]
    for i in range(len(a)):
        assert np.array_equal(a.load(i).frames, b.load(i).frames)
    splits = json.loads((tmp_path / "ray" / "splits.json").read_text())
    assert sorted(splits["val"] + splits["train"]) == ["boats", "kites"] and len(splits["val"]) == 1
    from engine.dmdl.train_decoder import main as train_decoder

    assert train_decoder(["--data", str(tmp_path / "ray"), "--out", str(tmp_path / "decoder"), "--tiny-vae",
                          "--steps", "1", "--batch-size", "1", "--log-every", "1"]) == 0, "the decoder trainer reads it"
    from engine.dmdl.train import main as train_transformer
    from tests.helpers.dmdl_train_tiny import tiny_base

    run = tmp_path / "run"
    assert train_transformer(["--data", str(tmp_path / "ray"), "--base", str(tiny_base(tmp_path / "base")),
                              "--out", str(run), "--steps", "2", "--log-every", "1"]) == 0, "so does the transformer's"
    steps = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in steps if "loss" in r] == [1, 2] and all(np.isfinite(r["loss"]) for r in steps if "loss" in r)
    assert (run / "transformer" / "config.json").is_file()


def test_the_vlm_alignment_judge_rejects_a_clip_that_does_not_match_its_prompt(tmp_path, chat, models):
    """Stage III's optional text–video alignment: the vision LLM rates the clip 1–5 against
    its prompt through the same API; a low rating rejects it with the reason, a broken
    answer leaves the clip to its other scores and says so."""
    base = np.zeros((FRAMES, 32, 32, 4), np.uint8)
    base[:, 8:24, 8:24] = (30, 160, 90, 255)
    moving = np.stack([np.roll(base[t], t, axis=1) for t in range(FRAMES)])
    np.savez_compressed(tmp_path / "clip.npz", frames=moving)

    def judge_server(received: Received, attempt: int) -> Reply:
        assert received.body["response_format"]["json_schema"]["name"] == "AlignmentAnswer"
        prompt = json.loads(received.body["messages"][1]["content"][0]["text"])["motion_prompt"]
        if "garbled" in prompt:
            return Reply(body=completion("{not json"))
        score = 1 if "spins" in prompt else 4
        return Reply(body=completion(json.dumps({"score": score, "reason": f"rated {score}"})))

    chat.responder = judge_server
    try:
        judge = Filter(config_for(tmp_path / "out", chat, models, align=True))
        rows = {p: judge({"failed": None, "clip": str(tmp_path / "clip.npz"), "prompt": p})
                for p in ("it slides to the right", "it spins", "garbled")}
    finally:
        chat.responder = plausible_vlm
    assert rows["it slides to the right"]["accepted"] and rows["it slides to the right"]["scores"]["alignment"] == 4
    assert not rows["it spins"]["accepted"] and "does not match its prompt" in rows["it spins"]["reasons"][0]
    garbled = rows["garbled"]
    assert garbled["accepted"] and garbled["scores"]["alignment"] is None
    assert "alignment judge" in garbled["scores"]["alignment_note"]
