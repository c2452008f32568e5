"""Issue 15's prompt table: what designers type on the three sample posters and a few
corpus files, and the motion each prompt must produce, checked the way a reviewer would.

Each row runs the command line in-process (`python -m engine animate POSTER --layer X
--prompt "…" --frames 12 --out bundle.zip`, through `engine.__main__.main`), takes the
animated layer's own transparent frames that go into the layered bundle, and measures
them (tests.helpers.motion_metrics) against the layer as it stands: the direction and
distance of the alpha centroid, scale, rotation, visibility through the loop, and the
phase the clip says it plays in (a loop closes, an entrance ends on the static layer, an
exit ends gone). Timing rows also give the fps, the frame the motion starts at and the
frame from which it is over: before it, an entrance's layer is invisible and a loop's or
an exit's is the static layer; from `end` on an entrance or loop shows the static layer
and an exit's layer is gone. The bundle's encoders are skipped here to
keep the table fast; `test_the_bundle_holds_exactly_the_measured_frames` runs a few rows
through the real bundle writer and checks its PNG sequence is what the table measured.
"""

from __future__ import annotations

import csv
import functools
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import engine
import engine.export
from engine.__main__ import main
from engine.core.stream import stack
from engine.core.clip import place_static
from engine.export.bundle import layer_slug, read_manifest, timeline_frames
from engine.psd.load import load_psd
from tests.helpers.motion_metrics import Measured, measure, rotation
from tests.helpers.paths import ASSETS_DIR, CORPUS_DIR

TABLE = Path(__file__).parent / "data" / "prompt_table.csv"
FRAMES = 12


@dataclass(frozen=True)
class Row:
    poster: str
    layer: str
    prompt: str
    preset: str
    phase: str  # loop | in | out
    move: str  # left | right | up | down | wrap-left | wrap-right | updown | sideways | still | any
    distance: str  # "lo-hi" px of the largest centroid move along that way ("still": hi = any way)
    scale: str  # 1 | grows | flap | any
    turn: str  # 0 | swing:lo-hi | full | any  (degrees)
    visible: float  # the least share of the layer's alpha mass visible in any frame
    fps: int = 24
    start: int | None = None  # the frame the motion starts at (timing rows)
    end: int | None = None  # the first frame at which it is over (timing rows)

    @property
    def path(self) -> Path:
        if self.poster in ("balloon", "flower", "ocean"):
            return ASSETS_DIR / "samples" / f"{self.poster}.psd"
        return CORPUS_DIR / self.poster

    @property
    def id(self) -> str:
        return f"{self.poster.rsplit('/', 1)[-1]}:{self.layer}:{self.prompt}"


def read_table() -> list[Row]:
    with TABLE.open(newline="") as handle:
        rows = [line for line in handle if line.strip() and not line.startswith("#")]
    def number(text: str | None) -> int | None:
        return int(text) if text not in (None, "") else None

    return [Row(**{**r, "visible": float(r["visible"]), "fps": number(r.get("fps")) or 24,
                   "start": number(r.get("start")), "end": number(r.get("end"))})
            for r in csv.DictReader(rows)]


ROWS = read_table()


@functools.lru_cache(maxsize=None)
def poster_of(path: Path):
    return load_psd(path)


def animate_through_cli(row: Row, out: Path, monkeypatch, capsys, encode: bool = False):
    """Run the command line on one row; return the animated layer's clip and what it said."""
    captured = {}
    real_export = engine.export.export_many

    def export_many(targets, frames, fps=24, *, poster=None, clips=None, **options):
        captured.update(clips=clips, poster=poster)
        if encode:
            return real_export(targets, frames, fps, poster=poster, clips=clips, **options)
        for path, _ in targets:  # not written: the clip is what is measured (the CLI reports its size)
            Path(path).touch()
        return [Path(path) for path, _ in targets]

    monkeypatch.setattr(engine, "load_psd", lambda path, *a, **k: poster_of(Path(path)))
    monkeypatch.setattr(engine.export, "export_many", export_many)
    code = main(["animate", str(row.path), "--layer", row.layer, "--prompt", row.prompt,
                 "--frames", str(FRAMES), "--fps", str(row.fps), "--out", str(out), "--quiet"])
    said = capsys.readouterr().err
    assert code == 0, said
    # the row's own layer: a linked shadow follows it into the bundle as a clip of its own
    layer_id = poster_of(row.path).layer(row.layer).id
    clip = captured["clips"][layer_id]
    return clip, said


def _range(text: str) -> tuple[float, float]:
    lo, hi = text.split("-")
    return float(lo), float(hi)


def check_move(row: Row, m: Measured, cycles: int = 1) -> None:
    if row.move == "any":
        return
    lo, hi = _range(row.distance)
    if row.move == "still":
        assert np.hypot(m.dx, m.dy).max() <= hi, f"the layer should stay in place; it moved {np.hypot(m.dx, m.dy).max():.1f} px"
        return
    if row.move in ("updown", "sideways"):  # a swing both ways along one axis
        along, across = (m.dy, m.dx) if row.move == "updown" else (m.dx, m.dy)
        reach = float(np.abs(along).max())
        assert lo <= reach <= hi, f"it should swing {lo:g}-{hi:g} px {row.move}; it moved {reach:.1f} (dx {m.dx.round(1)}, dy {m.dy.round(1)})"
        assert np.abs(across).max() <= 0.6 * reach + 4, f"it drifts across {np.abs(across).max():.1f} px"
        return
    way = row.move.split("-")[-1]
    along, across = (m.dx, m.dy) if way in ("left", "right") else (m.dy, m.dx)
    sign = 1.0 if way in ("right", "down") else -1.0
    if row.move.startswith("wrap"):
        early = along[1 : max(2, m.frames // (4 * cycles))]  # before anything has wrapped round
        assert (sign * early > 0).all(), f"it should start moving {way}: {early.round(1)}"
        assert np.abs(along).max() >= lo, f"it should cross its box; it moved {np.abs(along).max():.0f} px"
        return
    reach = float((sign * along).max())
    back = float((-sign * along).max())
    assert lo <= reach <= hi, f"it should move {lo:g}-{hi:g} px {way}; it moved {reach:.1f} (dx {m.dx.round(1)}, dy {m.dy.round(1)})"
    assert back <= 0.25 * reach + 2, f"it should move {way}, not the other way too ({back:.1f} px)"
    assert np.abs(across).max() <= 0.5 * reach + 4, f"it drifts sideways {np.abs(across).max():.1f} px"


def check_scale(row: Row, m: Measured) -> None:
    if row.scale == "any":
        return
    shown = m.visible > 0.5
    sx, sy = m.sx[shown], m.sy[shown]
    if row.scale == "1":
        assert 0.93 <= sx.min() and sx.max() <= 1.07 and 0.93 <= sy.min() and sy.max() <= 1.07, (sx.round(2), sy.round(2))
    elif row.scale == "grows":
        assert max(sx.max(), sy.max()) >= 1.05, (sx.round(2), sy.round(2))
    elif row.scale == "flap":  # wings: the width folds, the height stays
        assert sx.min() <= 0.85 and 0.9 <= sy.min() and sy.max() <= 1.1, (sx.round(2), sy.round(2))
    else:
        raise AssertionError(f"unknown scale rule {row.scale!r}")


def check_turn(row: Row, frames: np.ndarray) -> None:
    if row.turn == "any":
        return
    signed = rotation(frames)
    turned = np.abs(signed)
    if row.turn == "full":  # all the way round: past 90° one way, then back in from the other side
        assert signed.max() >= 90 and signed.min() <= -90, f"it should turn all the way round: {signed.round()}"
    elif row.turn == "0":
        assert turned.max() <= 6, f"it should not turn; it turned {turned.max():.0f}°"
    else:
        lo, hi = _range(row.turn.split(":")[1])
        assert lo <= turned.max() <= hi, f"it should turn {lo:g}-{hi:g}° and back; it turned {turned.max():.0f}°"


def check_phase(row: Row, m: Measured) -> None:
    assert m.change.max() >= 0.15, "nothing visibly changes"
    if row.phase == "loop":
        assert m.seam <= 3.0 * np.median(m.steps) + 0.5 and m.seam <= 1.5 * m.steps.max() + 0.2, (
            f"the loop jumps at the seam ({m.seam:.2f} vs steps {m.steps.round(2)})")
    elif row.phase == "in":
        assert m.change[-1] <= 0.01, "an entrance ends on the static layer"
        assert m.visible.min() <= 0.6 and int(np.argmin(m.visible)) < m.frames // 2, "it should enter early in the clip"
    elif row.phase == "out":
        assert m.visible[-1] <= 0.15, f"an exit ends gone; {m.visible[-1]:.2f} of it is still there"
        assert m.visible[: m.frames // 3].min() >= 0.9, "an exit starts on the static layer"
    else:
        raise AssertionError(f"unknown phase {row.phase!r}")


def check_timing(row: Row, m: Measured) -> None:
    """Before `start` and from `end` on, the layer is hidden, static or gone as its phase says."""
    static = m.change <= 0.01
    if row.start is not None:
        before = slice(0, row.start) if row.phase == "in" else slice(0, row.start + 1)
        if row.phase == "in":
            assert (m.visible[before] <= 0.02).all(), f"it should be invisible before frame {row.start}: {m.visible.round(2)}"
            assert m.visible[row.start + 1] > 0.02, f"it should be entering by frame {row.start + 1}: {m.visible.round(2)}"
        else:
            assert static[before].all(), f"it should be the static layer until frame {row.start}: {m.change.round(3)}"
            assert not static[row.start + 1], f"it should move from frame {row.start}: {m.change.round(3)}"
    if row.end is not None:
        if row.phase == "out":
            assert (m.visible[row.end:] <= 0.02).all(), f"it should be gone from frame {row.end}: {m.visible.round(2)}"
            assert m.visible[row.end - 1] > 0.02, f"it should still be leaving at frame {row.end - 1}: {m.visible.round(2)}"
        else:
            assert static[row.end:].all(), f"it should be the static layer from frame {row.end}: {m.change.round(3)}"
            assert not static[row.end - 1], f"it should still be moving at frame {row.end - 1}: {m.change.round(3)}"


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_prompt_produces_the_motion_it_asks_for(row, tmp_path, monkeypatch, capsys):
    clip, said = animate_through_cli(row, tmp_path / "bundle.zip", monkeypatch, capsys)
    assert clip.preset == row.preset, f"{row.prompt!r} played {clip.preset}; the command said:\n{said}"
    assert clip.timing.phase == row.phase, f"{row.prompt!r} plays as {clip.timing}; the command said:\n{said}"
    frames = stack(timeline_frames(clip, FRAMES))  # the bundle writes a stream; measure the whole clip
    m = measure(frames, place_static(poster_of(row.path).layer(row.layer), clip.box))
    check_phase(row, m)
    check_timing(row, m)
    assert m.visible.min() >= row.visible, f"it fades to {m.visible.min():.2f} of itself (rows want {row.visible})"
    check_move(row, m, clip.params.get("cycles", 1))
    check_scale(row, m)
    check_turn(row, frames)
    assert "leaves no room" not in said and "reduced to" not in said, said


def test_the_table_is_big_and_covers_the_samples_and_the_corpus():
    assert len(ROWS) >= 150
    posters = {row.poster for row in ROWS}
    assert {"balloon", "flower", "ocean"} <= posters and len(posters - {"balloon", "flower", "ocean"}) >= 2
    assert {row.phase for row in ROWS} == {"loop", "in", "out"}
    assert len({row.preset for row in ROWS}) >= 20
    timed = [row for row in ROWS if row.start is not None or row.end is not None]
    assert len(timed) >= 15 and {row.phase for row in timed} == {"loop", "in", "out"}


@pytest.mark.parametrize("row", [r for r in ROWS if r.id in (
    "ocean:Fish:the fish swims slowly to the left", "flower:Title:the title pops in", "flower:Bloom:the bloom sparkles")],
    ids=lambda r: r.id)
def test_the_bundle_holds_exactly_the_measured_frames(row, tmp_path, monkeypatch, capsys):
    out = tmp_path / "bundle.zip"
    clip, _ = animate_through_cli(row, out, monkeypatch, capsys, encode=True)
    poster = poster_of(row.path)
    layer = poster.layer(row.layer)
    slug = layer_slug(poster.layers.index(layer), layer.name)  # its own frames, not a linked shadow's
    with zipfile.ZipFile(out) as bundle:
        names = sorted(n for n in bundle.namelist() if n.startswith(f"layers/{slug}/frame_"))
        frames = np.stack([np.array(Image.open(io.BytesIO(bundle.read(n))).convert("RGBA")) for n in names])
    np.testing.assert_array_equal(frames, stack(timeline_frames(clip, FRAMES)))
    (motion,) = [entry.motion for entry in read_manifest(out).layers if entry.animated and entry.name == layer.name]
    assert (motion.phase, motion.start, motion.duration) == (clip.timing.phase, clip.timing.start, clip.timing.duration)
    assert motion.phase == row.phase
