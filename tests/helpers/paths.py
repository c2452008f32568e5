"""Where the repository, the sample posters and the PSD corpus live."""

from __future__ import annotations

import csv
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ASSETS_DIR = REPO_ROOT / "assets"
# CI checks the repository out with ../shared beside it; the corpus is read there, never copied.
CORPUS_DIR = REPO_ROOT.parent / "shared" / "psd-corpus"


def corpus_files() -> list[Path]:
    """Every PSD/PSB of the shared corpus, as listed by its manifest."""
    manifest = CORPUS_DIR / "manifest.tsv"
    if not manifest.exists():
        raise FileNotFoundError(
            f"The PSD corpus is missing at {CORPUS_DIR}: check out ../shared beside the repo."
        )
    with manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [CORPUS_DIR / row["local_path"] for row in rows if row["mode"] != "PNG-reference"]
