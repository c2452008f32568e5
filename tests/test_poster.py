import numpy as np
import pytest

from engine.motion import LayerClip, MotionRequest, place_static
from engine.core.poster import Box, PosterError


def test_box_parsing_and_geometry():
    box = Box.from_any("10, 20, 30, 40")
    assert box == Box(10, 20, 30, 40)
    assert box.right == 40 and box.bottom == 60
    assert Box(0, 0, 100, 100).contains(box)
    assert not box.contains(Box(0, 0, 100, 100))
    assert box.union(Box(0, 0, 5, 5)) == Box(0, 0, 40, 60)
    assert Box(-10, -10, 50, 50).clamp_to(20, 30) == Box(0, 0, 20, 30)
    assert Box(3, 17, 10, 10).snap_out(16) == Box(0, 16, 16, 16)


@pytest.mark.parametrize("bad", ["1,2,3", "a,b,c,d", "1,2,nan,4", (1, 2, -3, 4)])
def test_box_rejects_bad_input_with_a_sentence(bad):
    with pytest.raises(PosterError) as info:
        Box.from_any(bad)
    assert "box" in str(info.value).lower()


def test_layer_lookup_by_name_and_id(tiny_poster):
    assert tiny_poster.layer("sun").id == 2
    assert tiny_poster.layer(3).name == "Title"
    with pytest.raises(PosterError, match="no layer named"):
        tiny_poster.layer("Moon")


def test_motion_box_must_contain_layer(tiny_poster):
    sun = tiny_poster.layer("Sun")
    with pytest.raises(PosterError, match="must contain"):
        MotionRequest(layer=sun, box=Box(10, 10, 8, 8))
    request = MotionRequest(layer=sun, box=(0, 0, 32, 32))
    frame0 = place_static(sun, request.box)
    assert frame0.shape == (32, 32, 4)
    assert np.array_equal(frame0[8:24, 8:24], sun.pixels)
    assert frame0[:8].max() == 0


def test_clip_validates_its_frames():
    with pytest.raises(PosterError):
        LayerClip(layer_id=1, box=Box(0, 0, 4, 4), frames=np.zeros((2, 4, 5, 4), np.uint8))
    frames = np.arange(3, dtype=np.uint8)[:, None, None, None] * np.ones((3, 4, 4, 4), np.uint8)
    clip = LayerClip(layer_id=1, box=Box(0, 0, 4, 4), frames=frames)
    assert clip.frame(4).max() == 1  # the timeline loops a shorter clip
