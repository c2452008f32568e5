"""Linked layers: which layer a shadow or glow belongs to, kept in the project, moved with its owner.

Detection runs on the three real sample PSDs and on PSDs written by psd-tools; motion is
measured on the clips' own frames (alpha centroid, angle), as a reviewer would.
"""

from __future__ import annotations

import numpy as np
import pytest
from psd_tools import PSDImage
from psd_tools.api.layers import Group, PixelLayer

from engine import load_psd
from engine.core.clip import LayerClip
from engine.core.links import FOLLOWS_PARAM, detect_links, effect_role
from engine.core.project import Project
from engine.core.projectfile import load_project, save_project
from engine.motion import MotionRequest, get_engine
from engine.motion.follow import animate_with_followers, follow
from engine.planning import boxes_for_preset
from tests.helpers.motion_metrics import rotation
from tests.helpers.paths import ASSETS_DIR
from tests.helpers.psd_factory import gradient_rgba, load_once


def named_links(poster) -> dict[str, str]:
    return {poster.layer(f).name: poster.layer(link.owner).name for f, link in detect_links(poster).items()}


@pytest.fixture(scope="module")
def samples():
    return {name: load_once(ASSETS_DIR / "samples" / f"{name}.psd") for name in ("balloon", "flower", "ocean")}


def test_the_samples_shadows_and_glows_belong_to_their_layers(samples):
    assert named_links(samples["balloon"]) == {
        "Title Shadow": "Title", "Balloon Shadow": "Balloon", "Sun Glow": "Sun"}
    # the flower's shadow is named after its group: the member it lies under owns it
    assert named_links(samples["flower"]) == {"Pot Shadow": "Pot", "Flower Shadow": "Bloom"}
    # the fish's shadow lies on the sand, far below the fish: the name alone links it
    assert named_links(samples["ocean"]) == {"Fish Shadow": "Fish"}
    reasons = detect_links(samples["balloon"])[samples["balloon"].layer("Title Shadow").id].reasons
    assert any("name" in r for r in reasons) and any("group 'Title'" in r for r in reasons)
    assert any("overlap" in r for r in reasons)


@pytest.mark.parametrize("name, role", [
    ("Title Shadow", ("shadow", "title")), ("shadow of title", ("shadow", "title")),
    ("Title copy glow", ("glow", "title")), ("Balloon_shadow 2", ("shadow", "balloon")),
    ("Logo Outline", ("outline", "logo")), ("Glow", ("glow", "")), ("Drop Shadow", ("shadow", "")),
    ("Shadow Box", None), ("Highlighter pen", None), ("Title", None),
])
def test_an_effect_layer_is_told_by_what_its_name_is_about(name, role):
    assert effect_role(name) == role


def _psd(tmp_path, layers, groups=()):
    """A 200×160 PSD: (name, x, y, w, h, seed) pixel layers, bottom first; groups as (name, [indices])."""
    psd = PSDImage.new("RGB", (200, 160))
    made = [PixelLayer.frompil(gradient_rgba(w, h, seed), psd, name, x, y) for name, x, y, w, h, seed in layers]
    for name, members in groups:
        Group.group_layers(psd, [made[i] for i in members], name=name)
    path = tmp_path / "linked.psd"
    psd.save(path)
    return load_psd(path)


def test_links_on_psds_written_by_psd_tools_and_their_negatives(tmp_path):
    poster = _psd(tmp_path, [
        ("Card", 10, 10, 60, 40, 1), ("Photo", 20, 15, 60, 40, 2),  # unrelated, overlapping
        ("Shadow Box", 100, 10, 40, 40, 3),  # a box called shadow, alone
        ("shadow of logo", 103, 83, 40, 30, 4), ("Logo", 100, 80, 40, 30, 5),
        ("Moon Glow", 150, 10, 30, 30, 6),  # named after a layer this poster does not have
        ("Glow", 12, 118, 44, 34, 7), ("Star", 10, 116, 40, 30, 8),  # bare role, same group, adjacent
    ], groups=[("Sky", [6, 7])])
    assert named_links(poster) == {"shadow of logo": "Logo", "Glow": "Star"}
    glow = detect_links(poster)[poster.layer("Glow").id]
    assert not any("name" in r for r in glow.reasons) and any("group 'Sky'" in r for r in glow.reasons)


def test_a_bare_role_needs_its_group_and_geometry(tmp_path):
    poster = _psd(tmp_path, [("Star", 10, 10, 40, 30, 1), ("Glow", 120, 100, 44, 34, 2)])  # far apart
    assert named_links(poster) == {}


def test_the_project_keeps_links_and_unlinks_in_its_file(tmp_path, samples):
    poster = samples["balloon"]
    shadow, title = poster.layer("Title Shadow").id, poster.layer("Title").id
    project = Project(poster=poster)
    assert project.owner_of(shadow) == title and shadow in project.followers()[title]
    project.set_linked(shadow, False)
    assert project.owner_of(shadow) is None and title not in project.followers()
    project.links[poster.layer("Sun").id] = poster.layer("Badge").id  # a link the designer made
    again = load_project(save_project(project, tmp_path / "p.posterproj"))
    assert again.links == project.links and again.unlinked == [shadow]
    again.set_linked(shadow, True)
    assert again.owner_of(shadow) == title
    with pytest.raises(Exception, match="not linked"):
        again.set_linked(poster.layer("Badge").id, False)


def _centroids(clip: LayerClip) -> np.ndarray:
    out = []
    for i in range(clip.frame_count):
        alpha = clip.frame(i)[..., 3].astype(np.float64)
        ys, xs = np.indices(alpha.shape)
        out.append((clip.box.x + (alpha * (xs + 0.5)).sum() / alpha.sum(),
                    clip.box.y + (alpha * (ys + 0.5)).sum() / alpha.sum()))
    return np.array(out)


def _with_follower(poster, owner: str, follower: str, preset: str, prompt: str = "", frames: int = 12, **params):
    o, f = poster.layer(owner), poster.layer(follower)
    box = boxes_for_preset(poster, [o.id], preset, params)[o.id]
    request = MotionRequest(layer=o, box=box, prompt=prompt, params={"preset": preset, **params}, frames=frames)
    owner_clip, follower_clip = animate_with_followers(get_engine("presets"), [request], {o.id: [f]})
    return request, owner_clip, follower_clip


@pytest.mark.parametrize("owner, follower, preset, prompt", [
    ("Title", "Title Shadow", "float", ""),
    ("Balloon", "Balloon Shadow", "travel", "drifts to the right"),
    ("Balloon", "Balloon Shadow", "sway", ""),
    ("Title", "Title Shadow", "text_wave", ""),
])
def test_a_follower_keeps_its_offset_from_the_owner_frame_by_frame(samples, owner, follower, preset, prompt):
    _request, owner_clip, follower_clip = _with_follower(samples["balloon"], owner, follower, preset, prompt)
    moved = np.abs(_centroids(owner_clip) - _centroids(owner_clip)[0]).max()
    offset = _centroids(follower_clip) - _centroids(owner_clip)
    assert moved > 1.5  # the owner really moves
    assert np.abs(offset - offset[0]).max() <= 1.5
    assert follower_clip.params[FOLLOWS_PARAM] == samples["balloon"].layer(owner).id
    assert (follower_clip.preset, follower_clip.frame_count) == (owner_clip.preset, owner_clip.frame_count)
    assert np.array_equal(follower_clip.frame(0)[..., 3].sum(), samples["balloon"].layer(follower).pixels[..., 3].sum())


def test_a_spinning_owner_turns_its_shadow_by_the_same_angle(samples):
    _request, owner_clip, follower_clip = _with_follower(samples["balloon"], "Title", "Title Shadow", "spin",
                                                         frames=8)
    owner_turn = rotation(np.stack([owner_clip.frame(i) for i in range(owner_clip.frame_count)]), step_degrees=3)
    shadow_turn = rotation(np.stack([follower_clip.frame(i) for i in range(follower_clip.frame_count)]), step_degrees=3)
    assert np.abs(owner_turn).max() >= 30
    # a blurred shadow looks alike turned half a turn: compare the angles of its axis
    assert np.abs(((owner_turn - shadow_turn) + 90) % 180 - 90).max() <= 6
    offset = _centroids(follower_clip) - _centroids(owner_clip)
    assert np.abs(offset - offset[0]).max() <= 2.0


def test_a_generative_owner_is_followed_through_its_measured_motion(samples):
    """i2v and dmdl clips carry no FramePlan: the follower copies the measured travel and turn."""
    request, spun, _ = _with_follower(samples["balloon"], "Title", "Title Shadow", "spin", frames=8)
    for made in (spun,):
        frames = np.stack([made.frame(i) for i in range(made.frame_count)])
        generated = LayerClip(made.layer_id, made.box, frames, engine="i2v", params={"steps": 4})
        shadow = follow(request, generated, samples["balloon"].layer("Title Shadow"))
        assert shadow.engine == "i2v" and shadow.params == {"steps": 4, FOLLOWS_PARAM: request.layer.id}
        offset = _centroids(shadow) - _centroids(generated)
        assert np.abs(offset - offset[0]).max() <= 2.0
        turned = rotation(np.stack([shadow.frame(i) for i in range(shadow.frame_count)]), step_degrees=3)
        assert np.abs(((rotation(frames, step_degrees=3) - turned) + 90) % 180 - 90).max() <= 6


def test_a_follower_enters_and_leaves_with_its_owner(samples):
    """Phases: the shadow of a title that pops in is hidden until the title enters, and is
    the still shadow once the title has landed; the same for an exit, the other way round."""
    poster = samples["balloon"]
    for prompt, hidden in (("pops in then stays", 0), ("fades out at the end", -1)):
        preset = "pop_in" if hidden == 0 else "fade"
        _request, owner_clip, follower_clip = _with_follower(poster, "Title", "Title Shadow", preset, prompt=prompt)
        assert follower_clip.timing == owner_clip.timing and owner_clip.timing.phase == ("in" if hidden == 0 else "out")
        visible = [[clip.frame(i)[..., 3].max() > 0 for i in range(clip.frame_count)]
                   for clip in (owner_clip, follower_clip)]
        assert visible[0] == visible[1], "the shadow shows exactly when its title shows"
        assert not visible[1][hidden] and visible[1][-1 - hidden]
