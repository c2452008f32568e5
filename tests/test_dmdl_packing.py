"""Packing several layers into one token sequence, and back."""

from __future__ import annotations

import pytest
import torch
from tests.helpers.dmdl_tiny import dmdl_tiny, latent, one_thread, place, random_prompt, run  # noqa: F401 (autouse fixture)

from engine.dmdl.packing import pack_layers, snap_box_to_grid


def test_pack_unpack_round_trips_exactly():
    samples = [[latent(3, 4, 6, 1), latent(3, 2, 2, 2), latent(3, 6, 4, 3)], [latent(3, 8, 2, 4)]]
    places = [[place(0, 0, 0), place(1, 5, 7), place(2, 1, 1)], [place(0, 3, 3)]]
    packed = pack_layers(samples, places)
    for got_sample, want_sample in zip(packed.unpack(), samples):
        for got, want in zip(got_sample, want_sample):
            assert torch.equal(got, want)


def test_sequence_layout_frame_zero_first_and_global_positions():
    packed = pack_layers([[latent(3, 4, 6, 1), latent(3, 2, 2, 2)]], [[place(0, 0, 0), place(5, 10, 20)]])
    assert packed.first_frame_tokens == 2 * 3 + 1 * 1
    assert packed.tokens.shape == (1, 3 * (2 * 3 + 1), 4 * 2 * 2)
    first = packed.positions[0, : packed.first_frame_tokens]
    assert torch.all(first[:, 1] == 0)  # frame 0 only
    second_layer = packed.positions[0][packed.layer_slot[0] == 1]
    assert set(second_layer[:, 0].tolist()) == {5.0}
    assert set(second_layer[:, 2].tolist()) == {10.0} and set(second_layer[:, 3].tolist()) == {20.0}
    assert set(second_layer[:, 1].tolist()) == {0.0, 1.0, 2.0}


def test_result_does_not_depend_on_listing_order():
    model = dmdl_tiny()
    a, b, c = latent(3, 4, 4, 1), latent(3, 2, 6, 2), latent(3, 4, 2, 3)
    pa, pb, pc = place(0, 0, 0), place(1, 1, 1), place(2, 2, 0)
    prompt = random_prompt()
    forward = pack_layers([[a, b, c]], [[pa, pb, pc]])
    shuffled = pack_layers([[c, a, b]], [[pc, pa, pb]])
    out_forward = forward.unpack(run(model, forward, prompt))[0]
    out_shuffled = shuffled.unpack(run(model, shuffled, prompt))[0]
    for got, want in zip([out_shuffled[1], out_shuffled[2], out_shuffled[0]], out_forward):
        assert (got - want).abs().max().item() <= 1e-5


def test_latents_off_the_patch_grid_are_refused():
    with pytest.raises(ValueError, match="16-pixel grid"):
        pack_layers([[latent(3, 3, 4, 1)]], [[place(0, 0, 0)]])
    with pytest.raises(ValueError, match="one placement per layer"):
        pack_layers([[latent(3, 4, 4, 1)]], [[place(0, 0, 0), place(1, 0, 0)]])


def test_snap_box_to_grid_grows_outward_on_a_poster():
    assert snap_box_to_grid(100, 210, 300, 50, 1080, 1350) == (96, 208, 304, 64)
    assert snap_box_to_grid(1000, 1300, 80, 50, 1080, 1350) == (992, 1296, 96, 64)  # padded canvas 1088x1360
    with pytest.raises(ValueError, match="outside"):
        snap_box_to_grid(2000, 0, 10, 10, 1080, 1350)
