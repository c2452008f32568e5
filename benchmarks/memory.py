"""Peak memory of animating and exporting a print-size poster (4400×6000, 24 fps × 2 s).

    python -m benchmarks.memory [--layer-scale 1.0] [--quality preview]

Runs tests.helpers.big_poster in a fresh process (six opaque layers of about a third of
the poster's width animated with presets, composited and streamed into an MP4) and prints
its peak RSS (VmHWM) and wall time, plus the peak of the largest child (ffmpeg) from
getrusage(RUSAGE_CHILDREN). Before frames were streamed this peaked at 12.3 GB (issue 9).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer-scale", type=float, default=1.0)
    parser.add_argument("--quality", default="preview")
    args = parser.parse_args()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "print.mp4"
        result = subprocess.run(
            [sys.executable, "-m", "tests.helpers.big_poster", str(out), "--layer-scale", str(args.layer_scale),
             "--quality", args.quality],
            capture_output=True, text=True, check=True,
        )
        report = json.loads(result.stdout.strip().splitlines()[-1])
        size = out.stat().st_size
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest descendant
    print(f"{os.cpu_count()} CPUs, load average {load}")
    print("| poster | frames | python peak RSS | largest child (ffmpeg) peak | wall s | MP4 MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {report['width']}×{report['height']}, 6 animated layers (scale {args.layer_scale}) | "
          f"{report['frames']} | {report['peak_rss_mb'] / 1024:.2f} GB | {children / 1024:.2f} GB | "
          f"{report['seconds']:.0f} | {size / 1e6:.1f} |")


if __name__ == "__main__":
    main()
