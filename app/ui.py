"""The editor's layout and event wiring; no editing logic lives here (see app.handlers).

Every event follows one path: the browser's session token -> Session -> a handler ->
a View dict -> `Outputs.updates` turns it into updates for all components (gr.skip()
for the panels the handler did not touch).
"""

from __future__ import annotations

import html
import math
from typing import Any, Callable

import gradio as gr
from gradio_image_annotation import image_annotator

from app import animating, exporting, handlers, history, live, undoing, views
from app.motion_panel import AUTO, MotionFields, phase_choices
from app.replies import problem
from app.session import SessionStore
from app.timeline import SCRIPT as TIMELINE_JS, STYLE as TIMELINE_CSS
from engine.core.poster import PosterError
from engine.motion.params import ParamSpec

STORAGE_KEY = "poster-animator-session"
HEAVY = "heavy-work"  # animate, re-roll, export: a small pool so previews never queue behind them
HEAVY_LIMIT = 2
PLANNING = "planning"  # the Plan button: its own pool, so a slow LLM never holds Animate's slots
LIVE = "live-preview"  # the live preview after an edit: its own pool, never queued behind Animate
#: Motion panel widgets whose edit re-renders the preview live (typing a prompt does not:
#: half a sentence would pick a preset per keystroke; Animate or leaving the field takes it).
LIVE_KEYS = ("engine", "phase", "start", "motion_duration", "seed")

#: Ctrl+Z / Ctrl+Shift+Z / Ctrl+Y press the ↶ ↷ buttons, except in a text field (the browser's
#: own text undo applies there); the buttons' tooltips follow #history-hint (see `history_hint`).
UNDO_KEYS_JS = """() => {
  if (window.posterUndoKeys) return;
  window.posterUndoKeys = true;
  const typing = (el) => !!el && (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT"
    || (el.tagName === "INPUT" && !["range", "checkbox", "radio", "button"].includes((el.type || "").toLowerCase())));
  document.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || typing(document.activeElement)) return;
    const key = event.key.toLowerCase();
    const which = key === "z" ? (event.shiftKey ? "redo" : "undo") : (key === "y" && !event.shiftKey ? "redo" : null);
    if (!which) return;
    event.preventDefault();
    const button = document.getElementById(which);
    if (button && !button.disabled) button.click();
  }, true);
  const sync = () => {
    const hint = document.querySelector("#history-hint [data-undo]");
    for (const which of ["undo", "redo"]) {
      const button = document.getElementById(which);
      if (button && hint) button.title = hint.dataset[which];
    }
  };
  const root = document.getElementById("history-hint");
  if (root) new MutationObserver(sync).observe(root, {subtree: true, childList: true, attributes: true, characterData: true});
  sync();
}"""


def history_hint(undo: str | None, redo: str | None) -> str:
    """The buttons' tooltips ("Undo: prompt of Balloon"), carried to the page as data."""
    texts = [f"Undo: {undo} (Ctrl+Z)" if undo else "Nothing to undo",
             f"Redo: {redo} (Ctrl+Shift+Z)" if redo else "Nothing to redo"]
    undo_text, redo_text = (html.escape(text, quote=True) for text in texts)
    return f'<span data-undo="{undo_text}" data-redo="{redo_text}"></span>'

#: Where an action's message shows besides the status line at the top of the page: an
#: inline status under the buttons that caused it (see Outputs.updates).
PLACES = {"action": "action_status", "export": "export_status", "project": "project_status"}

#: The motion panel's pool of parameter widgets, by kind: the selected engine's ParamSpecs
#: are shown, labelled and ranged on them (Gradio builds a page's components once).
SLOT_COUNTS = {"choice": 5, "number": 6, "bool": 3, "text": 1}
PARAM_SLOTS = [f"param_{kind}_{i}" for kind, count in SLOT_COUNTS.items() for i in range(count)]


def slot_kind(spec: ParamSpec) -> str:
    return "number" if spec.kind in ("float", "int") else spec.kind


def assign_slots(specs: list[ParamSpec]) -> dict[str, ParamSpec]:
    """Each spec on the next free widget of its kind, in the engine's order.

    An engine declaring more parameters of one kind than the pool holds is a programming
    error caught by the tests (every engine's and every preset's specs are checked).
    """
    free = {kind: [k for k in PARAM_SLOTS if k.startswith(f"param_{kind}_")] for kind in SLOT_COUNTS}
    slots: dict[str, ParamSpec] = {}
    for spec in specs:
        pool = free[slot_kind(spec)]
        if not pool:
            raise ValueError(f"The motion panel has no free {slot_kind(spec)} widget for '{spec.name}'.")
        slots[pool.pop(0)] = spec
    return slots


def slider_step(spec: ParamSpec) -> float:
    """1 for whole numbers; else about a twentieth of the range, rounded to 1, 2 or 5 × 10^k."""
    if spec.kind == "int":
        return 1
    rough = (spec.max - spec.min) / 20
    scale = 10 ** math.floor(math.log10(rough))
    return min((m * scale for m in (1, 2, 5, 10)), key=lambda step: abs(step - rough))


def _timing_hints(auto: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Widget settings that say what the timing fields left on auto will be."""
    if not auto:
        return {}
    return {
        "phase": {"choices": phase_choices(auto.get("phase"))},
        "start": {"info": f"Empty: from the prompt (now {auto.get('start')})"},
        "motion_duration": {"info": f"Empty: from the prompt (now {auto.get('motion_duration')})"},
    }


def slot_update(spec: ParamSpec | None, value: Any, enabled: bool) -> Any:
    """The widget update that shows `spec` (hidden when the slot is unused)."""
    if spec is None:
        return gr.update(visible=False)
    extra: dict[str, Any] = {"label": spec.label, "info": spec.help, "visible": True, "interactive": enabled}
    if spec.kind in ("float", "int"):
        extra.update(minimum=spec.min, maximum=spec.max, step=slider_step(spec))
    elif spec.kind == "choice":
        extra.update(choices=spec.menu())
    return gr.update(value=spec.default if value is None else value, **extra)


class Outputs:
    """The components handlers may update, and how a View maps onto them."""

    def __init__(self, c: dict[str, Any]) -> None:
        self.c = c
        self.motion_keys = ["engine", "prompt", "phase", "start", "motion_duration", "seed", *PARAM_SLOTS]
        self.components = [
            c["status"], c["notice"], c["poster_title"], c["samples"], c["gallery"], c["layers"],
            c["undo"], c["redo"], c["history_hint"],
            c["active"], *(c[k] for k in self.motion_keys), c["slot_names"], c["preset_note"],
            c["box_x"], c["box_y"], c["box_w"], c["box_h"], c["canvas"], c["pick"], c["plans"],
            c["planner"], c["engine_note"], c["preview"], c["layer_preview"], c["fps"], c["duration"], c["tracks"],
            *(c[key] for key in PLACES.values()),  # mid-list: API clients count outputs from both ends
            c["exports"], c["project_file"], c["tabs"], c["link_note"], c["link_toggle"],
        ]

    def updates(self, view: dict[str, Any], place: str | None = None, background: bool = False) -> list[Any]:
        """The component updates for `view`; its status also shows under the buttons of
        `place` (PLACES), where the designer is looking. A message stays until the next
        one: each new status empties the other places, so none is left beside a button
        it is not about; a `background` reply (an edit's, the live preview's) leaves the
        other places alone, so a late one never takes a button's answer away."""
        out: dict[int, Any] = {}
        put = lambda key, value: out.__setitem__(id(self.c[key]), value)  # noqa: E731
        if "status" in view:  # problems are tinted so they are not missed
            tint = ["status-problem"] if view.get("error") else []
            put("status", gr.update(value=view["status"], elem_classes=tint))
            for where, key in PLACES.items():
                if background and where != place:
                    continue
                shown = view["status"] if where == place else ""
                put(key, gr.update(value=shown, elem_classes=["inline-status", *tint] if shown else ["inline-status"]))
        if "notice" in view:
            put("notice", gr.update(value=view["notice"], visible=bool(view["notice"])))
        if "poster_title" in view:
            put("poster_title", view["poster_title"])
        if "samples" in view:
            choices, value = view["samples"]
            put("samples", gr.update(choices=choices, value=value))
        if "gallery" in view:
            put("gallery", view["gallery"])
        if "layers" in view:
            choices, value = view["layers"]
            put("layers", gr.update(choices=choices, value=value))
        if "active" in view:
            choices, value = view["active"]
            put("active", gr.update(choices=choices, value=value, interactive=bool(choices)))
        if "motion" in view:
            self._motion(view["motion"], view.get("specs", []), put, view.get("motion_keep", ()))
        elif "timing_auto" in view:
            self._timing_auto(view["timing_auto"], put)
        if "engines" in view:
            self._engines(view["engines"], put)
        if "preset_note" in view:
            put("preset_note", view["preset_note"])
        if "link" in view:
            note, button = view["link"]
            put("link_note", note)
            put("link_toggle", gr.update(value=button or "Unlink", visible=button is not None))
        if "box" in view:
            box = view["box"]
            for key, value in zip(("box_x", "box_y", "box_w", "box_h"), box or (None,) * 4):
                put(key, gr.update(value=value, interactive=box is not None))
        if "tracks" in view:
            put("tracks", gr.update(value=view["tracks"]))
        for key in ("canvas", "pick", "plans", "planner", "preview", "layer_preview"):
            if key in view:
                put(key, view[key])
        for key in ("exports", "project_file"):  # file lists show only once there is a file
            if key in view:
                put(key, gr.update(value=view[key], visible=bool(view[key])))
        if "timeline" in view:
            put("fps", view["timeline"][0])
            put("duration", view["timeline"][1])
        if "tab" in view:
            put("tabs", gr.Tabs(selected=view["tab"]))
        if "history" in view:
            undo, redo = view["history"]
            put("undo", gr.update(interactive=undo is not None))
            put("redo", gr.update(interactive=redo is not None))
            put("history_hint", history_hint(undo, redo))
        return [out.get(id(component), gr.skip()) for component in self.components]

    def _motion(self, fields: MotionFields | None, specs: list[ParamSpec], put: Callable, keep: tuple = ()) -> None:
        """Fill the panel from the engine's specs; `keep` names widgets being typed in, left alone."""
        enabled = fields is not None
        fields = fields or MotionFields()
        typed = {"engine": fields.engine, "prompt": fields.prompt, "phase": fields.phase,
                 "start": fields.start_s, "motion_duration": fields.duration_s, "seed": fields.seed}
        hints = _timing_hints(fields.auto)
        for key, value in typed.items():
            if key not in keep:
                put(key, gr.update(value=value, interactive=enabled, **hints.get(key, {})))
            elif key in hints:
                put(key, gr.update(**hints[key]))
        slots = assign_slots(specs if enabled else [])
        for key in PARAM_SLOTS:
            spec = slots.get(key)
            put(key, slot_update(spec, None if spec is None else fields.params.get(spec.name), enabled))
        put("slot_names", [slots[key].name if key in slots else "" for key in PARAM_SLOTS])

    def _timing_auto(self, auto: dict[str, str], put: Callable) -> None:
        """Only the labels that say what the auto timing fields read as (values untouched)."""
        for key, hint in _timing_hints(auto).items():
            put(key, gr.update(**hint))

    def _engines(self, engines: dict[str, tuple[bool, str]], put: Callable) -> None:
        from engine.motion.registry import engine_label

        usable = [(engine_label(name), name) for name, (ok, _) in engines.items() if ok]
        put("engine", gr.update(choices=usable))
        missing = [f"**{engine_label(name)}** (unavailable) — {reason}"
                   for name, (ok, reason) in engines.items() if not ok]
        put("engine_note", "\n\n".join(missing))


def build(store: SessionStore) -> gr.Blocks:
    """The editor page. `store` holds every session; the page only ever sends its token."""
    c: dict[str, Any] = {}
    # Gradio keeps its own copies of served files; drop those a day old, checked hourly.
    with gr.Blocks(title="Poster Animator", fill_width=True, delete_cache=(3600, 86400)) as demo:
        token = gr.BrowserState("", storage_key=STORAGE_KEY, secret=store.browser_secret())
        with gr.Row(elem_id="topbar", equal_height=True):
            gr.Markdown("## Poster Animator", elem_id="brand")
            c["poster_title"] = gr.Markdown("", elem_id="poster-title")
            c["planner"] = gr.Markdown("", elem_id="planner-pill")
            c["undo"] = gr.Button("↶", size="sm", interactive=False, scale=0, min_width=40, elem_id="undo")
            c["redo"] = gr.Button("↷", size="sm", interactive=False, scale=0, min_width=40, elem_id="redo")
            c["history_hint"] = gr.HTML(history_hint(None, None), visible="hidden", elem_id="history-hint")
        c["status"] = gr.Markdown("Loading the editor…", elem_id="status")

        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=250):
                gr.Markdown("#### Poster", elem_classes="panel-title")
                c["samples"] = gr.Dropdown(label="Sample posters", choices=views.samples(), value=None,
                                           interactive=True, elem_id="sample-picker")
                c["upload"] = gr.UploadButton("Open a PSD…", file_types=[".psd", ".psb"], file_count="single",
                                              variant="secondary", elem_id="upload-psd")
                c["notice"] = gr.Markdown("", visible=False, elem_id="import-notice")
                gr.Markdown("#### Layers", elem_classes="panel-title")
                c["gallery"] = gr.Gallery(show_label=False, columns=3, height=230, allow_preview=False,
                                          object_fit="contain", elem_id="layers-gallery")
                c["layers"] = gr.CheckboxGroup(label="Select layers (top layer first)", choices=[],
                                               elem_id="layers-list")

            with gr.Column(scale=3, min_width=420):
                with gr.Tabs(selected="boxes") as c["tabs"]:
                    with gr.Tab("Motion boxes", id="boxes"):
                        c["canvas"] = image_annotator(
                            label="Drag a box's handles to resize it; press “Create box” (C) and drag to draw a new one",
                            image_type="numpy", disable_edit_boxes=True, show_clear_button=False,
                            show_remove_button=True, sources=[], box_min_size=4, handle_size=8,
                            boxes_alpha=0.15, show_download_button=False, elem_id="canvas",
                        )
                    with gr.Tab("Pick layers", id="pick"):
                        c["pick"] = gr.Image(label="Click a layer to select or deselect it", interactive=False,
                                             buttons=[], elem_id="pick-canvas")
                    with gr.Tab("Poster preview", id="preview"):
                        c["preview"] = gr.Video(label="Animated poster", autoplay=True, loop=True,
                                                interactive=False, elem_id="poster-preview")
                    with gr.Tab("Layer preview", id="layer") as c["layer_tab"]:
                        c["layer_preview"] = gr.Video(label="Animated layer on transparency", autoplay=True,
                                                      loop=True, interactive=False, elem_id="layer-preview")
                # The timeline (app.timeline, app/static/timeline.js): its header holds the
                # whole animation's fps and length.
                with gr.Group(elem_id="timeline-panel"):
                    with gr.Row():
                        c["fps"] = gr.Slider(1, 60, value=24, step=1, label="Frames per second", elem_id="fps")
                        c["duration"] = gr.Slider(0.5, 10, value=2, step=0.5, label="Duration (s)",
                                                  elem_id="duration")
                    c["tracks"] = gr.HTML({"fps": 24, "frames": 48, "rows": []}, html_template="",
                                          js_on_load=TIMELINE_JS.read_text(encoding="utf-8"),
                                          css_template=TIMELINE_CSS.read_text(encoding="utf-8"),
                                          elem_id="timeline")
                with gr.Row(elem_id="action-bar"):
                    c["animate"] = gr.Button("▶ Animate", variant="primary", elem_id="animate-selected")
                    c["animate_all"] = gr.Button("Animate all", elem_id="animate-all")
                    c["cancel"] = gr.Button("■ Cancel", elem_id="cancel-animate")
                    c["reroll"] = gr.Button("⟳ Re-roll", elem_id="reroll")
                    c["plan"] = gr.Button("✦ Plan boxes", elem_id="plan-boxes")
                    c["show_layer"] = gr.Button("Layer preview", elem_id="preview-layer")
                c["action_status"] = gr.Markdown("", elem_id="action-status", elem_classes=["inline-status"])
                c["plans"] = gr.Markdown("", elem_id="plans")

            with gr.Column(scale=2, min_width=320):
                gr.Markdown("#### Motion", elem_classes="panel-title")
                # allow_custom_value: a button pressed just after a layer was unticked still carries
                # that layer (the reply narrowing the choices is on its way); the handlers check
                # it against the selection, where Gradio would answer with a bare "Error".
                c["active"] = gr.Dropdown(label="Layer being edited", choices=[], interactive=False,
                                          allow_custom_value=True, elem_id="active-layer")
                c["engine"] = gr.Radio(label="Engine", choices=[("Presets (CPU, instant)", "presets")],
                                       value="presets", elem_id="engine")
                c["engine_note"] = gr.Markdown("", elem_id="engine-note")
                c["prompt"] = gr.Textbox(label="Motion prompt", lines=2, elem_id="motion-prompt",
                                         placeholder="e.g. “the balloon drifts up gently”, “title waves”")
                c["preset_note"] = gr.Markdown("", elem_id="preset-note")
                with gr.Row(elem_id="link-row"):
                    c["link_note"] = gr.Markdown("", elem_id="link-note")
                    c["link_toggle"] = gr.Button("Unlink", size="sm", visible=False, elem_id="link-toggle")
                # The engine's parameters: a fixed pool of widgets, shown and labelled from its specs.
                c["slot_names"] = gr.State([""] * len(PARAM_SLOTS))
                with gr.Group(elem_id="engine-params"):
                    for key in PARAM_SLOTS:
                        elem_id = key.replace("_", "-")
                        if key.startswith("param_choice_"):
                            c[key] = gr.Dropdown(choices=[], value=None, visible=False, elem_id=elem_id)
                        elif key.startswith("param_number_"):
                            c[key] = gr.Slider(0, 1, value=0, visible=False, elem_id=elem_id)
                        elif key.startswith("param_bool_"):
                            c[key] = gr.Checkbox(value=False, visible=False, elem_id=elem_id)
                        else:
                            c[key] = gr.Textbox(value="", visible=False, elem_id=elem_id)
                # When the motion plays; left on auto (empty), the prompt decides ("pops in", "at the end").
                c["phase"] = gr.Dropdown(phase_choices(), value=AUTO, label="Phase", elem_id="motion-phase")
                with gr.Row():
                    c["start"] = gr.Number(value=None, minimum=0, step=0.1, label="Start (s)", min_width=90,
                                           info="Empty: from the prompt", elem_id="motion-start")
                    c["motion_duration"] = gr.Number(value=None, minimum=0, step=0.1, label="Duration (s)",
                                                     min_width=90, info="Empty: from the prompt",
                                                     elem_id="motion-duration")
                    c["seed"] = gr.Number(value=0, minimum=0, precision=0, label="Seed", min_width=90,
                                          info="Another seed, another take (Re-roll adds 1)", elem_id="seed")
                with gr.Accordion("Motion box (poster pixels)", open=True):
                    with gr.Row():
                        c["box_x"] = gr.Number(label="x", precision=0, min_width=60, elem_id="box-x")
                        c["box_y"] = gr.Number(label="y", precision=0, min_width=60, elem_id="box-y")
                        c["box_w"] = gr.Number(label="width", precision=0, min_width=60, elem_id="box-w")
                        c["box_h"] = gr.Number(label="height", precision=0, min_width=60, elem_id="box-h")
                with gr.Accordion("Group prompt (all selected layers move together)", open=False):
                    c["group_prompt"] = gr.Textbox(label="Shared prompt", lines=1, elem_id="group-prompt",
                                                   placeholder="e.g. “the letters bounce one after another”")
                    c["group_apply"] = gr.Button("Use for the selected layers", size="sm", elem_id="group-apply")
                with gr.Accordion("Export", open=True):
                    c["format"] = gr.Dropdown(exporting.format_choices(), value=[exporting.DEFAULT_FORMAT],
                                              multiselect=True, label="Formats (rendered once for all)",
                                              elem_id="export-format")
                    with gr.Row():
                        c["export_size"] = gr.Dropdown(exporting.size_choices(), value="original", label="Size",
                                                       allow_custom_value=True, elem_id="export-size",
                                                       info="Fitted inside, never cropped; or type W×H, e.g. 1200x628")
                        c["export_quality"] = gr.Radio(exporting.quality_choices(), value="standard",
                                                       label="Quality", elem_id="export-quality")
                    with gr.Row():
                        c["export_fps"] = gr.Number(0, label="Frames per second", minimum=0,
                                                    info="0: the animation's; lower keeps every n-th frame",
                                                    elem_id="export-fps")
                        c["export_plays"] = gr.Number(0, precision=0, minimum=0, label="Plays",
                                                      info="GIF, APNG, WebP: times it plays, 0 = forever",
                                                      elem_id="export-plays")
                    c["export_note"] = gr.Markdown("", elem_id="export-note")
                    c["export"] = gr.Button("Export", variant="primary", size="sm", elem_id="export")
                    c["export_status"] = gr.Markdown("", elem_id="export-status", elem_classes=["inline-status"])
                    c["exports"] = gr.File(label="Downloads", file_count="multiple", interactive=False,
                                           visible=False, elem_id="downloads")
                with gr.Accordion("Project", open=False):
                    with gr.Row():
                        c["save"] = gr.Button("Save project", size="sm", elem_id="save-project")
                        c["open_project"] = gr.UploadButton("Open project…", size="sm",
                                                            file_types=[exporting.PROJECT_SUFFIX],
                                                            elem_id="open-project")
                    c["project_status"] = gr.Markdown("", elem_id="project-status", elem_classes=["inline-status"])
                    c["project_file"] = gr.File(label="Project file", interactive=False, visible=False,
                                                elem_id="project-file")

        outputs = Outputs(c)
        _wire(demo, store, token, c, outputs)
    return demo


def _wire(demo: gr.Blocks, store: SessionStore, token: gr.BrowserState, c: dict[str, Any], outputs: Outputs) -> None:
    all_out = outputs.components
    motion_inputs = [*(c[k] for k in outputs.motion_keys), c["slot_names"]]

    def fields(values: tuple) -> MotionFields:
        """The panel's values (the slot names, from the page's state, come last)."""
        *widgets, slot_names = values
        named = dict(zip(outputs.motion_keys, widgets))
        params = {name: named[key] for key, name in zip(PARAM_SLOTS, slot_names or ()) if name}
        return MotionFields(engine=named["engine"], prompt=named["prompt"], phase=named["phase"],
                            start_s=named["start"], duration_s=named["motion_duration"], seed=named["seed"],
                            params=params)

    typed_inputs = [c["engine"], c["prompt"], c["phase"], c["start"], c["motion_duration"]]

    def typed(values: tuple) -> MotionFields:
        """What a button press carries: the typed fields only (see motion_panel.TYPED_FIELDS)."""
        engine, prompt, phase, start, duration = values
        return MotionFields(engine=engine, prompt=prompt, phase=phase, start_s=start, duration_s=duration)

    def only(key: str, slot_names: list[str] | None) -> tuple[str, ...]:
        """What one widget's event stores: itself, or for a parameter widget, its parameter."""
        if key not in PARAM_SLOTS:
            return (key,)
        name = (slot_names or [""] * len(PARAM_SLOTS))[PARAM_SLOTS.index(key)]
        return (name,) if name else ()

    def reply(session: Any, view: dict, place: str | None = None, ticket: int | None = None) -> list:
        """The component updates for a handler's view, with what Undo and Redo would do now;
        its message also shows at `place` (PLACES). With the `ticket` its handler took when
        it started, the reply is a background one: its message is left out when a later
        one has already been said (app.messages)."""
        background = ticket is not None
        if "status" in view and not session.messages.may_say(
                ticket if background else session.messages.ticket(), background):
            view = {key: value for key, value in view.items() if key not in ("status", "error")}
        return outputs.updates({**view, "history": history.hint(session.state)}, place, background)

    def on(fn: Callable[..., dict], place: str | None = None, background: bool | None = None) -> Callable[..., list]:
        """Adapt handler(session, *values) to a Gradio callback taking the token first.
        Edits (no `place`) and `background` handlers reply in the background (see reply)."""
        quiet = place is None if background is None else background

        def callback(tok: str, *values: Any) -> list:
            session = store.get(tok)
            ticket = session.messages.ticket() if quiet else None
            return reply(session, fn(session, *values), place, ticket)

        return callback

    def listen(event: Callable, fn: Callable, inputs: list, name: str | None, **options: Any) -> Any:
        """One event -> all outputs; unnamed duplicates stay callable but out of the API docs.

        Progress shows on the canvas area and the status line, not as a veil over every
        panel: the designer keeps reading and editing while an animation renders.
        """
        visibility = "public" if name else "undocumented"
        options.setdefault("show_progress_on", [c["status"], c["canvas"], c["preview"]])
        return event(fn, inputs, all_out, api_name=name, api_visibility=visibility, **options)

    def then_live(dependency: Any) -> None:
        """After an edit: a draft of the poster preview, then the full render (app.live).
        A newer edit supersedes both; an edit that changed no animated layer costs nothing."""
        pool = {"concurrency_id": LIVE, "concurrency_limit": HEAVY_LIMIT, "show_progress": "hidden"}
        drafted = listen(dependency.then, on(live.draft, "action", background=True), [token], None, **pool)
        listen(drafted.then, on(live.full, "action", background=True), [token], None, **pool)

    def startup(tok: str, request: gr.Request) -> list:
        client = request.client.host if request is not None and request.client is not None else None
        try:
            session, restored = store.open(tok, client)
        except PosterError as error:  # too many new sessions from this address, or a full server
            return [tok, *outputs.updates({"status": problem(str(error)), "error": True})]
        view = handlers.start(session, restored)
        return [session.token, *reply(session, view)]

    demo.load(startup, inputs=[token], outputs=[token, *all_out], api_name="start")
    demo.load(None, js=UNDO_KEYS_JS)
    then_live(listen(c["undo"].click, on(undoing.undo), [token], "undo"))
    then_live(listen(c["redo"].click, on(undoing.redo), [token], "redo"))

    listen(c["samples"].input, on(handlers.open_sample), [token, c["samples"]], "open_sample")
    listen(c["upload"].upload, on(handlers.open_psd), [token, c["upload"]], "open_psd")
    listen(c["layers"].input, on(handlers.set_selection), [token, c["layers"]], "select_layers")

    def gallery_clicked(tok: str, evt: gr.SelectData) -> list:
        session = store.get(tok)
        return reply(session, handlers.toggle_gallery(session, evt.index))

    def canvas_clicked(tok: str, evt: gr.SelectData) -> list:
        session = store.get(tok)
        return reply(session, handlers.pick_at(session, *evt.index))

    listen(c["gallery"].select, gallery_clicked, [token], None)
    listen(c["pick"].select, canvas_clicked, [token], None)
    listen(c["active"].input, on(handlers.set_active), [token, c["active"]], "set_active")
    listen(c["link_toggle"].click, on(handlers.toggle_link), [token, c["active"]], "toggle_link")

    def edit(key: str) -> Callable[..., list]:
        """Each widget's event stores that widget only (see motion_panel.apply_fields)."""
        return on(lambda s, layer, *values: handlers.edit_motion(s, layer, fields(values),
                                                                  only=only(key, values[-1])))

    for key in outputs.motion_keys:
        edited = listen(c[key].input, edit(key), [token, c["active"], *motion_inputs], f"set_{key}",
                        trigger_mode="always_last", show_progress="hidden")
        if key in LIVE_KEYS or key in PARAM_SLOTS:
            then_live(edited)
    # Gradio's textbox sends `input` on key presses only: a pasted, cut or deleted prompt is
    # stored (and its reading shown) when the designer leaves the field; a button press
    # carries it anyway.
    listen(c["prompt"].blur, edit("prompt"), [token, c["active"], *motion_inputs], None,
           trigger_mode="always_last", show_progress="hidden")

    box_inputs = [token, c["active"], c["box_x"], c["box_y"], c["box_w"], c["box_h"]]
    for index, key in enumerate(("box_x", "box_y", "box_w", "box_h")):
        then_live(listen(c[key].submit, on(handlers.edit_box), box_inputs, "set_box" if index == 0 else None))
        then_live(listen(c[key].blur, on(handlers.edit_box), box_inputs, None))
    then_live(listen(c["canvas"].change, on(handlers.canvas_changed), [token, c["canvas"]], "canvas_boxes",
                     show_progress="hidden", trigger_mode="always_last"))
    listen(c["group_apply"].click, on(handlers.apply_group_prompt), [token, c["group_prompt"]], "group_prompt")
    timeline = [token, c["fps"], c["duration"]]
    then_live(listen(c["fps"].input, on(handlers.set_timeline), timeline, "set_timeline",
                     trigger_mode="always_last", show_progress="hidden"))
    then_live(listen(c["duration"].input, on(handlers.set_timeline), timeline, None, trigger_mode="always_last",
                     show_progress="hidden"))

    def timeline_dragged(tok: str, evt: gr.EventData) -> list:
        edit = evt._data if isinstance(evt._data, dict) else {}
        session = store.get(tok)
        return reply(session, handlers.set_timing(session, edit.get("layer_id"), edit.get("start"), edit.get("duration")))

    then_live(listen(c["tracks"].timing, timeline_dragged, [token], "set_timing", show_progress="hidden"))

    def timeline_named(tok: str, evt: gr.EventData) -> list:
        picked = evt._data if isinstance(evt._data, dict) else {}
        session = store.get(tok)
        return reply(session, handlers.focus_layer(session, picked.get("layer_id")))

    listen(c["tracks"].pick, timeline_named, [token], "focus_layer", show_progress="hidden")
    listen(c["plan"].click, on(lambda s, layer, *values: handlers.plan_with(s, layer, typed(values)), "action"),
           [token, c["active"], *typed_inputs], "plan_boxes", concurrency_id=PLANNING, concurrency_limit=HEAVY_LIMIT)
    listen(c["show_layer"].click, on(animating.preview_layer, "action"), [token, c["active"]], "preview_layer")
    listen(c["layer_tab"].select, on(animating.preview_layer, "action"), [token, c["active"]], None)

    def long_running(action: str) -> Callable[..., list]:
        def callback(tok: str, layer: Any, fps: Any, duration: Any, *values: Any, progress=gr.Progress()) -> list:
            report = lambda fraction, desc="": progress(fraction, desc=desc)  # noqa: E731
            session = store.get(tok)
            return reply(session, handlers.run_action(session, action, layer, fps, duration, typed(values), report),
                         "action")

        return callback

    timeline_and_panel = [token, c["active"], c["fps"], c["duration"], *typed_inputs]
    for button, action in ((c["animate"], "animate"), (c["animate_all"], "animate_all"), (c["reroll"], "reroll")):
        listen(button.click, long_running(action), timeline_and_panel, action, concurrency_id=HEAVY,
               concurrency_limit=HEAVY_LIMIT)

    # Cancel runs beside the heavy pool (never queued behind the Animate it stops).
    listen(c["cancel"].click, on(animating.cancel, "action"), [token], "cancel", show_progress="hidden")

    export_fields = [c["format"], c["export_size"], c["export_quality"], c["export_fps"], c["export_plays"]]

    def export_callback(tok: str, fmt: list[str], size: str, quality: str, fps: float | None, plays: float | None,
                        progress=gr.Progress()) -> list:
        report = lambda fraction, desc="": progress(fraction, desc=desc)  # noqa: E731
        session = store.get(tok)
        try:
            options = exporting.export_options(size, quality, fps, plays)
        except PosterError as error:
            return reply(session, {"status": problem(str(error)), "error": True}, "export")
        return reply(session, exporting.export(session, fmt, report, options), "export")

    listen(c["export"].click, export_callback, [token, *export_fields], "export", concurrency_id=HEAVY,
           concurrency_limit=HEAVY_LIMIT)

    def estimate_callback(tok: str, fmt: list[str], size: str, quality: str, fps: float | None,
                          plays: float | None) -> str:
        """The GIF's expected size, shown before Export is pressed."""
        if "gif" not in (fmt or []):
            return ""
        try:
            options = exporting.export_options(size, quality, fps, plays)
        except PosterError as error:
            return problem(str(error))
        view = exporting.estimate(store.get(tok), fmt, options)
        return view.get("export_note", view.get("status", ""))

    # One listener for every field, one run at a time, pending changes folded into the last:
    # an estimate never overtakes a newer one.
    gr.on([field.change for field in export_fields[:4]], estimate_callback, [token, *export_fields],
          c["export_note"], api_name="estimate_gif", show_progress="hidden", trigger_mode="always_last",
          concurrency_limit=1, concurrency_id="export-estimate")
    listen(c["save"].click, on(exporting.save_project, "project"), [token], "save_project")
    listen(c["open_project"].upload, on(exporting.open_project, "project"), [token, c["open_project"]],
           "open_project")
