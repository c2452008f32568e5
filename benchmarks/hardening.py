"""Peak server memory and seconds to animate one layer and export an MP4, through the real editor.

    python -m benchmarks.hardening [--repo PATH] [--skip-big]

Starts `app.py` (from this checkout, or `--repo`, e.g. a copy of an older commit for the
"before" row) on a free loopback port with a fresh data folder, and drives it over HTTP
as a browser would (gradio_client): open the poster, select one layer, Animate at the
defaults (24 fps × 2 s, presets), Export MP4. Two posters: the balloon sample
(1080×1350) and a 4400×6000 print poster written here as a real PSD (an opaque gradient
background and one opaque 1320 px layer). After each poster the server's VmHWM (peak
RSS, /proc/PID/status) is read and the server is stopped, so each row has its own peak.
Also reported: bytes of uncompressed clip data left on disk (`*.npz`, `*.npy`, raw files
over 1 MB outside zips), which must be 0. Times are wall seconds on a shared machine:
compare rows measured together, not across machines.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gradio_client import Client, handle_file

from tests.helpers.editor_server import free_port, _wait_until_up

REPO = Path(__file__).resolve().parents[1]


def write_print_poster(path: Path, width: int = 4400, height: int = 6000) -> Path:
    """A 4400×6000 RGB PSD: a gradient background and one opaque striped layer."""
    import numpy as np
    from PIL import Image
    from psd_tools import PSDImage
    from psd_tools.api.layers import PixelLayer

    ys = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    xs = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    background = np.empty((height, width, 4), np.uint8)
    background[..., 0], background[..., 1], background[..., 2], background[..., 3] = ys, xs, 128, 255
    side = width * 3 // 10
    layer = np.full((side, side, 4), (200, 60, 40, 255), np.uint8)
    layer[::16, :, :3] = 255
    psd = PSDImage.new("RGB", (width, height))
    PixelLayer.frompil(Image.fromarray(background, "RGBA"), psd, "Background", 0, 0)
    PixelLayer.frompil(Image.fromarray(layer, "RGBA"), psd, "Balloon", width // 3, height // 3)
    psd.save(path)
    return path


def vm_hwm_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def raw_clip_bytes(data: Path) -> int:
    """Uncompressed clip data on disk: .npz/.npy files (what autosave wrote before clipstore)."""
    return sum(p.stat().st_size for p in data.rglob("*") if p.is_file() and p.suffix in {".npz", ".npy"})


def run(repo: Path, poster: Path | None, layer: str) -> dict[str, float]:
    """One server, one poster: open, animate `layer`, export MP4; its peak and timings."""
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        port = free_port()
        log = Path(folder) / "server.log"
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
        with log.open("w") as out:
            server = subprocess.Popen([sys.executable, str(repo / "app.py"), "--port", str(port), "--data-dir", str(data)],
                                      cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, server, log)
            client = Client(url, verbose=False, download_files=False)
            token, *_ = client.predict("", api_name="/start")
            started = time.monotonic()
            if poster is not None:
                status = client.predict(token, handle_file(str(poster)), api_name="/open_psd")[0]
                assert "Opened" in str(status), status
            opened = time.monotonic()
            result = client.predict(token, [], api_name="/select_layers")
            choices = result[5]["choices"]
            layer_id = next(value for label, value in choices if label.split(" — ")[0].split(" / ")[-1] == layer)
            client.predict(token, [layer_id], api_name="/select_layers")
            status = client.predict(token, layer_id, 24, 2, "presets", "floats gently", "auto", None, None,
                                    api_name="/animate")[0]
            assert "Animated" in str(status), status
            animated = time.monotonic()
            status = client.predict(token, "mp4", api_name="/export")[0]
            assert "Exported" in str(status), status
            exported = time.monotonic()
            return {"open_s": opened - started, "animate_s": animated - opened, "export_s": exported - animated,
                    "peak_gb": vm_hwm_mb(server.pid) / 1024, "raw_clip_mb": raw_clip_bytes(data) / 1e6}
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose app.py to measure")
    parser.add_argument("--skip-big", action="store_true", help="only the 1080×1350 sample")
    args = parser.parse_args()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    rows = [("balloon sample, 1080×1350", None, "Balloon")]
    with tempfile.TemporaryDirectory() as folder:
        if not args.skip_big:
            rows.append(("print poster, 4400×6000", write_print_poster(Path(folder) / "print.psd"), "Balloon"))
        print(f"{args.repo}: {os.cpu_count()} CPUs, load average {load}")
        print("| poster | open s | animate s | export MP4 s | server peak RSS | raw clip bytes on disk |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for name, poster, layer in rows:
            r = run(args.repo.resolve(), poster, layer)
            print(f"| {name} | {r['open_s']:.1f} | {r['animate_s']:.1f} | {r['export_s']:.1f} | "
                  f"{r['peak_gb']:.2f} GB | {r['raw_clip_mb']:.0f} MB |", flush=True)


if __name__ == "__main__":
    main()
