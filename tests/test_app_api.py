"""The editor's HTTP API, driven by gradio_client against the real running app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import imageio.v3 as iio
import pytest
from gradio_client import Client, handle_file

from tests.helpers.attacks import get, project_file, upload
from tests.helpers.paths import ASSETS_DIR
from tests.helpers.editor_server import REPO_ROOT, running_editor

OUTPUT_ORDER = ("status", "notice", "poster_title", "samples", "gallery", "layers")  # app.ui.Outputs
EXPORTS = -3  # the export file list, third output from the end (layout-only components are not API outputs)


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


# --------------------------------------------------------------------------- issue 10: attacks through the API


def test_uploads_the_secret_and_session_files_are_never_served(editor) -> None:
    url, data = editor
    client = Client(url, verbose=False, download_files=False)
    token, _, _, _, _, gallery, *_ = client.predict("", api_name="/start")
    for name, payload in [("evil.html", b"<html><script>alert(document.domain)</script></html>"),
                          ("evil.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
                          ("poster.psd", (REPO_ROOT / "assets" / "samples" / "balloon.psd").read_bytes()[:4096])]:
        stored = upload(url, name, payload)
        code, headers, body = get(f"{url}/gradio_api/file={stored}")
        assert code == 404 and b"script" not in body, (name, code, headers.get("content-type"))
    for private in [data / "browser-secret", *sorted((data / "sessions" / token).rglob("*.*"))[:3]]:
        assert get(f"{url}/gradio_api/file={private}")[0] == 404, private
    assert get(f"{url}/gradio_api/file=https://example.com/evil.html")[0] == 404
    # What the editor made for this session (a layer thumbnail) is served, and never sniffed.
    code, headers, body = get(f"{url}/gradio_api/file={gallery[0]['image']['path']}")
    assert code == 200 and body and headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in headers["content-security-policy"] and "html" not in headers["content-type"]


HOSTILE_PROJECTS = [  # (what the file does, a word of the sentence that refuses it)
    (lambda doc: doc["poster"].update(width=20000, height=20000), "12000"),  # 549 bytes, 13 GB once opened
    (lambda doc: doc["timeline"].update(fps=240, frames=100000), "Frames per second"),
    (lambda doc: doc["poster"]["layers"][0].update(opacity="NaN"), "damaged"),
]


def test_hostile_projects_are_refused_without_touching_the_session(editor, tmp_path: Path, tiny_poster) -> None:
    url, data = editor
    client = Client(url, verbose=False, download_files=False)
    token, *_ = client.predict("", api_name="/start")
    client.predict(token, 12, 1, api_name="/set_timeline")  # any edit: an autosave exists
    autosave = data / "sessions" / token / "autosave" / "editor.json"
    before = autosave.read_bytes()
    for attack, expected in HOSTILE_PROJECTS:
        hostile = project_file(tmp_path / "work.posterproj", tiny_poster, attack)
        result = client.predict(token, handle_file(str(hostile)), api_name="/open_project")
        assert result[0]["value"].startswith("⚠") and expected in result[0]["value"], result[0]["value"]
        assert autosave.read_bytes() == before
        assert not list((data / "sessions" / token / "uploads").glob("*")), "a refused upload is deleted"
    assert "Balloon" in json.dumps(client.predict(token, [], api_name="/select_layers"))
