"""Issue 10's attacks, each replayed: hostile project files, lost work, one visitor stalling
all, a misbehaving LLM server (a real local HTTP server). The attacks that go through the
editor's HTTP API (stored XSS, hostile project uploads) are in test_app_api.py, on its
real server.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from app import exporting, handlers, views
from app.motion_panel import MotionFields
from app.persist import restore
from app.session import SessionStore
from app.state import EditorState
from engine.core.poster import Poster, PosterError
from engine.core.project import Project, Timeline
from engine.core.projectfile import load_project
from tests.helpers.attacks import project_file
from tests.test_app_handlers import animate_two

# --------------------------------------------------------------------------- project files


def test_a_zip_bomb_project_is_refused(tmp_path: Path, tiny_poster: Poster, monkeypatch) -> None:
    monkeypatch.setenv("POSTER_MAX_PROJECT_GB", "0.02")
    bomb = project_file(tmp_path / "bomb.posterproj", tiny_poster, lambda doc: None,
                        extra={"padding.bin": bytes(40_000_000)})  # 40 MB of zeros: 40 KB on disk
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(PosterError, match="unpacks to"):
        load_project(bomb)


@pytest.mark.parametrize("where", ["timeline", "motion params", "motion box", "layer", "layer box"])
def test_nan_anywhere_in_a_project_is_refused(tmp_path: Path, tiny_poster: Poster, where: str) -> None:
    def attack(doc: dict[str, Any]) -> None:
        motion = {"layer_ids": [2], "params": {"amplitude": 1.0}, "box": {"x": 0, "y": 0, "w": 32, "h": 32}}
        doc["motions"] = [motion]
        if where == "timeline":
            doc["timeline"]["fps"] = "Infinity"
        elif where == "motion params":
            motion["params"]["amplitude"] = "NaN"
        elif where == "motion box":
            motion["box"]["x"] = "Infinity"
        elif where == "layer":
            doc["poster"]["layers"][1]["opacity"] = "NaN"
        else:
            doc["poster"]["layers"][1]["box"]["w"] = "NaN"

    with pytest.raises(PosterError, match="damaged"):
        load_project(project_file(tmp_path / "nan.posterproj", tiny_poster, attack))


def test_a_nan_autosave_says_so_and_keeps_editor_json(tmp_path: Path) -> None:
    data = tmp_path / "data"
    session, _ = SessionStore(data, restore=restore).open(None)
    assert not handlers.start(session, False).get("error")
    balloon = session.state.poster.layer("Balloon").id
    handlers.edit_motion(session, balloon, MotionFields(prompt="drifts up"))
    manifest = session.folder / "autosave" / "editor.json"
    doc = json.loads(manifest.read_text())
    doc["motions"][0]["params"]["amplitude"] = "NaN"
    manifest.write_bytes(json.dumps(doc).replace('"NaN"', "NaN").encode())
    damaged = manifest.read_bytes()
    again, restored = SessionStore(data, restore=restore).open(session.token)  # a server restart
    view = handlers.start(again, restored)
    assert not restored and "could not be restored" in view["status"] and again.token == session.token
    assert manifest.read_bytes() == damaged  # kept for a later editor, not overwritten by the sample


def test_a_damaged_same_name_upload_keeps_the_good_project_across_a_restart(tmp_path: Path, tiny_poster) -> None:
    data = tmp_path / "data"
    store = SessionStore(data, restore=restore)
    author, _ = store.open(None)
    author.state = EditorState(project=Project(poster=tiny_poster, timeline=Timeline(fps=6, frames=6)))
    animate_two(author)
    good = Path(exporting.save_project(author)["project_file"])
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    designer, _ = store.open(None)
    (incoming / "work.posterproj").write_bytes(good.read_bytes())
    assert not exporting.open_project(designer, str(incoming / "work.posterproj")).get("error")
    stored = designer.folder / "uploads" / "work.posterproj"
    autosave = (designer.folder / "autosave" / "editor.json").read_bytes()
    (incoming / "work.posterproj").write_bytes(good.read_bytes()[:2000])  # the same name, truncated
    assert exporting.open_project(designer, str(incoming / "work.posterproj"))["error"]
    assert stored.read_bytes() == good.read_bytes() and not list(stored.parent.glob(".upload-*"))
    assert (designer.folder / "autosave" / "editor.json").read_bytes() == autosave
    again, restored = SessionStore(data, restore=restore).open(designer.token)
    assert restored and again.state.motion(3).prompt == "the title bobs" and 3 in again.state.clips


def test_leftovers_of_a_crash_are_swept_at_start_up(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data")
    session, _ = store.open(None)
    leftovers = [session.dir("autosave") / ".tmp-x.json", session.dir("autosave") / ".pending-1.zip",
                 session.dir("uploads") / ".upload-0a1b-work.posterproj", session.dir("exports") / "poster.mp4.part"]
    kept = [session.dir("autosave") / "editor.json", session.dir("uploads") / "work.posterproj"]
    for path in leftovers + kept:
        path.write_bytes(b"x")
    SessionStore(tmp_path / "data").sweep_leftovers()
    assert not any(p.exists() for p in leftovers) and all(p.exists() for p in kept)


# --------------------------------------------------------------------------- sessions


def test_a_fresh_visitor_is_served_while_another_session_restores(tmp_path: Path) -> None:
    release, restoring = threading.Event(), threading.Event()

    def slow_restore(session) -> bool:  # a 78 s restore of a big poster, held open here
        restoring.set()
        release.wait(30)
        return False

    store = SessionStore(tmp_path / "data", restore=slow_restore)
    token = "ab" * 16
    (store.root / token).mkdir(parents=True)
    opened: dict[str, Any] = {}
    slow = threading.Thread(target=lambda: opened.setdefault("slow", store.open(token)))
    slow.start()
    assert restoring.wait(10)
    fresh = threading.Thread(target=lambda: opened.setdefault("fresh", store.open(None)))
    fresh.start()
    fresh.join(10)
    finished_while_restoring = "fresh" in opened and "slow" not in opened
    release.set()
    slow.join(10)
    assert finished_while_restoring and opened["slow"][0].token == token


def test_sessions_are_capped_and_new_ones_rate_limited(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data", max_live=3, new_per_minute=5)
    for _ in range(5):
        store.open(None, client="203.0.113.7")
    assert store.live == 3  # the least recently used left memory (their autosaves stay on disk)
    with pytest.raises(PosterError, match="Too many new editing sessions"):
        store.open(None, client="203.0.113.7")
    other, _ = store.open("cd" * 16, client="198.51.100.1")  # a token this server never gave out
    assert other.token != "cd" * 16


# --------------------------------------------------------------------------- budget and encoders


def test_one_budget_of_pixel_frames_for_render_and_animate(tiny_poster: Poster, monkeypatch) -> None:
    from engine.motion.base import MotionRequest
    from engine.render.compositor import poster_stream

    monkeypatch.setenv("POSTER_MAX_GIGAPIXEL_FRAMES", "0.0001")  # 64×48 px × 40 frames = 0.000123
    with pytest.raises(PosterError, match=r"at most 32 frames"):
        poster_stream(tiny_poster, [], 40)
    assert len(poster_stream(tiny_poster, [], 30)) == 30
    sun = tiny_poster.layer("Sun")
    with pytest.raises(PosterError, match="Animating 'Sun'"):
        MotionRequest(layer=sun, box=tiny_poster.canvas, frames=40)
    with pytest.raises(PosterError, match="at most 30 s"):
        MotionRequest(layer=sun, box=sun.box, frames=24 * 31, fps=24)


def test_huge_frames_get_a_short_encoder_lookahead() -> None:
    from engine.export.video import x264_memory_args

    assert "rc-lookahead=4" in " ".join(x264_memory_args(4400, 6000))
    assert x264_memory_args(1080, 1350) == []


# --------------------------------------------------------------------------- the LLM planner


class _Misbehaving(http.server.BaseHTTPRequestHandler):
    """A chat-completions server that drips its answer, or answers far too much."""

    mode = "drip"
    finished = threading.Event()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.mode == "huge":
            self.send_header("Content-Length", str(4_000_000))
            self.end_headers()
            try:
                self.wfile.write(b'{"choices": [' + b" " * 3_999_986 + b"]}")
            except OSError:
                pass
            return
        self.end_headers()
        try:
            for _ in range(150):  # 20 bytes every 0.2 s: 30 s of an answer that never completes
                self.wfile.write(b" " * 20)
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            return
        type(self).finished.set()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def misbehaving_server() -> Iterator[tuple[str, type[_Misbehaving]]]:
    handler = type("Handler", (_Misbehaving,), {"finished": threading.Event()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    server.shutdown()


def test_a_dripping_llm_server_gets_a_heuristic_plan_by_the_deadline(misbehaving_server, tiny_poster) -> None:
    from engine.planning import LLMSettings, plan

    base_url, handler = misbehaving_server
    settings = LLMSettings(base_url=base_url, timeout=3, max_retries=2, deadline=2)
    [result] = plan(tiny_poster, [("Sun", "spins slowly")], settings=settings)
    assert result.source == "heuristic" and "within 2 s" in result.message
    assert not handler.finished.is_set()  # answered while the server was still dripping


def test_a_huge_llm_reply_is_cut_off(misbehaving_server, tiny_poster) -> None:
    from engine.planning import LLMSettings, plan

    base_url, handler = misbehaving_server
    handler.mode = "huge"
    settings = LLMSettings(base_url=base_url, max_retries=0, max_reply_kb=64)
    [result] = plan(tiny_poster, [("Sun", "spins slowly")], settings=settings)
    assert result.source == "heuristic" and "longer than 64 KB" in result.message


def test_prompts_are_capped_and_names_escaped_before_markdown(tmp_path: Path, tiny_poster) -> None:
    session, _ = SessionStore(tmp_path / "data", restore=restore).open(None)
    session.state = EditorState(project=Project(poster=tiny_poster, timeline=Timeline(fps=6, frames=6)))
    view = handlers.edit_motion(session, 2, MotionFields(prompt="spin " * 1000))
    assert view["error"] and "at most 1000 characters" in view["status"]
    layer = session.state.layer(2)
    layer.name = "**Sun**<img src=x onerror=alert(1)>"
    motion = session.state.motion(2)
    motion.rationale, motion.planned_by = "Click [here](https://evil.example) _now_", "llm"
    session.state.selection = [2]  # the notes shown are the selected layers'
    text = views.plans_markdown(session.state)
    assert "<img" not in text and "](https" not in text and "**Sun**" not in text
    assert "\\*\\*Sun\\*\\*" in text and "\\[here\\]" in text
