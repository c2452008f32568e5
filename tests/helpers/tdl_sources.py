"""Sources and a stand-in vision LLM for the TDL builder's tests and benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from tests.helpers.chat_server import Received, Reply, completion

TEXT_NAMES = ("subtitle",)


def plausible_vlm(received: Received, _attempt: int) -> Reply:
    """A plausible VLM: the subtitle is text, the smallest other layer an object, the next two a group."""
    layers = received.payload["layers"]
    texts = [l for l in layers if l["name"].lower() in TEXT_NAMES]
    objects = sorted((l for l in layers if l not in texts and l["box"][2] * l["box"][3] > 64),
                     key=lambda l: l["box"][2] * l["box"][3])
    answer = {"layers": [{"index": l["index"], "kind": "text", "prompt": ""} for l in texts[:1]], "groups": []}
    if objects:
        answer["layers"].append({"index": objects[0]["index"], "kind": "object", "prompt": "it drifts to the right"})
    if len(objects) >= 3:
        members = [objects[1]["index"], objects[2]["index"]]
        answer["layers"] += [{"index": i, "kind": "object", "prompt": "sways"} for i in members]
        answer["groups"].append({"members": members, "prompt": "they sway together in the breeze"})
    return Reply(body=completion(json.dumps(answer)))



def prism_poster(folder: Path, extra_objects: int = 0) -> Path:
    """A PrismLayers-style poster folder: RGBA layers with boxes, a caption, a subtitle."""
    (folder / "layers").mkdir(parents=True)
    sky = np.full((60, 80, 4), (90, 140, 220, 255), np.uint8)
    balloon = np.zeros((20, 16, 4), np.uint8)
    balloon[2:18, 2:14] = (220, 40, 40, 255)
    subtitle = np.zeros((6, 40, 4), np.uint8)
    subtitle[1:5, ::3] = (255, 255, 255, 255)
    layers = [("Sky", sky, [0, 0, 80, 60]), ("Balloon", balloon, [30, 20, 16, 20]), ("Subtitle", subtitle, [20, 50, 40, 6])]
    for k in range(extra_objects):
        kite = np.zeros((24 + 2 * k, 18, 4), np.uint8)
        kite[3:-3, 3:15] = (40 + 80 * k, 200, 60, 255)
        layers.append((f"Kite {k}", kite, [4 + 50 * k, 4, 18, 24 + 2 * k]))
    for index, (_, pixels, _) in enumerate(layers):
        Image.fromarray(pixels).save(folder / "layers" / f"{index}.png")
    (folder / "meta.json").write_text(json.dumps({
        "width": 80, "height": 60, "caption": "a red balloon in a blue sky",
        "layers": [{"file": f"layers/{i}.png", "box": box, "name": name} for i, (name, _, box) in enumerate(layers)]}))
    return folder
