"""A print-size poster animates and exports without holding its video in memory.

Before frames were streamed, a 4400×6000 poster at 24 fps × 2 s peaked at 12.3 GB (every
frame of the poster and of every clip in memory at once). Measured in a fresh process
(tests.helpers.big_poster), whose peak covers animating, compositing and encoding.
"""

from __future__ import annotations

import json
import subprocess
import sys

import imageio_ffmpeg

from tests.helpers.paths import REPO_ROOT

LIMIT_MB = 2048


def test_a_4400_by_6000_poster_animates_and_exports_mp4_under_2_gb(tmp_path):
    out = tmp_path / "print.mp4"
    result = subprocess.run(
        [sys.executable, "-m", "tests.helpers.big_poster", str(out), "--layer-scale", "0.4"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (report["width"], report["height"], report["frames"]) == (4400, 6000, 48)
    assert report["peak_rss_mb"] < LIMIT_MB, report
    frames, _seconds = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert frames == 48
