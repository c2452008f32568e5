"""The editor's HTTP API, driven by gradio_client against the real running app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import imageio.v3 as iio
import pytest
from gradio_client import Client, handle_file

from tests.helpers.paths import ASSETS_DIR
from tests.helpers.editor_server import REPO_ROOT, running_editor

OUTPUT_ORDER = ("status", "notice", "poster_title", "samples", "gallery", "layers")  # app.ui.Outputs
EXPORTS = -2  # ..., exports, project file (the Tabs layout is not an API output)


@pytest.fixture(scope="module")
def editor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("api-data")
    with running_editor(data, REPO_ROOT / "test-artifacts" / "api-editor.log") as url:
        yield url, data


def start(client: Client) -> tuple[str, list[Any]]:
    token, *rest = client.predict("", api_name="/start")
    return token, rest


def status(result: list[Any]) -> str:
    """The status line's text (it arrives as an update that also sets its tint)."""
    update = result[0]
    return update["value"] if isinstance(update, dict) else update


def layer_ids(client: Client, token: str) -> dict[str, int]:
    """Layer names and ids as the layer list shows them (via a no-op selection)."""
    result = client.predict(token, [], api_name="/select_layers")
    choices = result[OUTPUT_ORDER.index("layers")]["choices"]
    return {label.split(" — ")[0].split(" / ")[-1]: value for label, value in choices}


def motion_inputs(prompt: str) -> list[Any]:
    # engine, prompt, phase, start and duration (auto: from the prompt); a button press
    # carries what is typed; parameter widgets are stored by their own events
    return ["presets", prompt, "auto", None, None]


def test_a_client_animates_and_downloads_an_mp4(editor, tmp_path: Path) -> None:
    url, data = editor
    client = Client(url, verbose=False, download_files=str(tmp_path))
    token, opened = start(client)
    assert "Opened the sample poster" in status(opened)
    assert (data / "sessions" / token).is_dir()

    result = client.predict(token, handle_file(str(ASSETS_DIR / "samples" / "ocean.psd")), api_name="/open_psd")
    assert "Opened ocean.psd" in status(result), status(result)
    ids = layer_ids(client, token)
    fish = ids["Fish"]
    client.predict(token, [fish], api_name="/select_layers")
    result = client.predict(token, fish, 12, 1, *motion_inputs("the fish swims forward with a gentle wiggle"),
                            api_name="/animate")
    assert "Animated Fish" in status(result), status(result)

    result = client.predict(token, "mp4", api_name="/export")
    assert "Exported" in status(result), status(result)
    update = result[EXPORTS]  # a component update: the file list, made visible
    assert update["visible"] is True
    downloads = [Path(item["path"] if isinstance(item, dict) else item) for item in update["value"]]
    mp4 = next(path for path in downloads if path.suffix == ".mp4")
    frames = iio.imread(mp4, plugin="FFMPEG", index=None)
    assert frames.shape == (12, 1350, 1080, 3)


def test_errors_come_back_as_messages(editor, tmp_path: Path) -> None:
    url, _ = editor
    client = Client(url, verbose=False)
    token, _ = start(client)
    bad = tmp_path / "poster.psd"
    bad.write_bytes(b"definitely not photoshop")
    result = client.predict(token, handle_file(str(bad)), api_name="/open_psd")
    assert status(result).startswith("⚠") and "Traceback" not in status(result)
    assert result[0]["elem_classes"] == ["status-problem"]
    sun = layer_ids(client, token)["Sun"]
    client.predict(token, [sun], api_name="/select_layers")
    result = client.predict(token, sun, 5000, -300, 10, 10, api_name="/set_box")
    assert status(result).startswith("⚠") and "off the canvas" in status(result)


def test_two_clients_never_see_each_other(editor) -> None:
    url, data = editor
    alice, bob = Client(url, verbose=False), Client(url, verbose=False)
    alice_token, _ = start(alice)
    bob_token, _ = start(bob)
    assert alice_token != bob_token
    bob.predict(bob_token, "flower.psd", api_name="/open_sample")
    assert "Butterfly" in layer_ids(bob, bob_token) and "Butterfly" not in layer_ids(alice, alice_token)
    # A forged token opens a fresh session of its own, never someone else's folder.
    result = alice.predict("../" + bob_token, [], api_name="/select_layers")
    assert "Butterfly" not in json.dumps(result[OUTPUT_ORDER.index("layers")])
    folders = {p.name for p in (data / "sessions").iterdir()}
    assert folders >= {alice_token, bob_token}
    assert all(len(name) == 32 and set(name) <= set("0123456789abcdef") for name in folders)


def test_generation_and_previews_use_separate_queues(tmp_path: Path) -> None:
    """Animate, re-roll and export share a small pool; light events (selection, previews) have their own."""
    from app.config import parse_settings
    from app.server import create

    demo, _ = create(parse_settings(["--data-dir", str(tmp_path)], {}))
    by_name = {fn.api_name: fn for fn in demo.fns.values()}
    heavy = {by_name[name].concurrency_id for name in ("animate", "reroll", "export")}
    light = {by_name[name].concurrency_id for name in ("preview_layer", "select_layers", "set_prompt")}
    assert len(heavy) == 1 and not heavy & light and len(light) == 3
    assert all(by_name[name].concurrency_limit == 2 for name in ("animate", "reroll", "export"))
