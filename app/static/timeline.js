// The editor's timeline (app/timeline.py builds its value; this file only draws and drags).
// Run by gr.HTML's js_on_load with `element`, `trigger`, `props` and `watch` in scope.
// props.value = {fps, frames, rows: [{layer_id, name, phase, start, span, open_end, editable, …}]}.
// A drag reports frames with trigger('timing', {layer_id, start, duration?}); the server
// checks it and answers with new rows. A click on a row's name edits that layer ('pick'). The playhead drives the poster preview's <video>.

const PREVIEW = "#poster-preview video";
const view = { frame: 0, dragging: false, redraw: false, raf: 0 };

const data = () => props.value || { fps: 24, frames: 1, rows: [] };
const video = () => document.querySelector(PREVIEW);
const clamp = (x, lo, hi) => Math.max(lo, Math.min(hi, x));
const el = (tag, cls, text) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
};
const pct = (frame) => `${(100 * frame) / data().frames}%`;

function secs(frame) {
  return (frame / data().fps).toFixed(2) + " s";
}

// ---- the playhead: where the preview is, in frames

function frameOf(time) {
  const { fps, frames } = data();
  return clamp(Math.floor(time * fps + 1e-3), 0, frames - 1);
}

function showFrame(frame) {
  view.frame = frame;
  const { frames } = data();
  const clock = element.querySelector(".tl-clock");
  if (clock) clock.textContent = `${secs(frame)} · frame ${frame} / ${frames - 1}`;
  element.querySelectorAll(".tl-playhead").forEach((line) => (line.style.left = pct(frame + 0.5)));
  const play = element.querySelector(".tl-play");
  const v = video();
  if (play) play.textContent = v && !v.paused ? "❚❚" : "▶";
}

function seek(frame) {
  const { fps, frames } = data();
  frame = clamp(frame, 0, frames - 1);
  const v = video();
  if (v) {
    v.pause();
    v.currentTime = frame / fps;
  }
  showFrame(frame);
}

function togglePlay() {
  const v = video();
  if (!v) return;
  if (v.paused) v.play().catch(() => {});
  else v.pause();
}

function follow() {
  cancelAnimationFrame(view.raf);
  const tick = () => {
    const v = video();
    if (!v || !element.isConnected) return;
    showFrame(frameOf(v.currentTime));
    if (!v.paused) view.raf = requestAnimationFrame(tick);
  };
  tick();
}

// ---- drawing

function ruler(frames, fps) {
  const lane = el("div", "tl-lane tl-ruler");
  const step = Math.max(1, Math.round(fps / (frames / fps > 6 ? 1 : 2)));
  for (let f = 0; f <= frames; f += step) {
    const tick = el("span", "tl-tick", f < frames ? secs(f).replace(".00", "") : "");
    tick.style.left = pct(f);
    lane.appendChild(tick);
  }
  lane.appendChild(el("div", "tl-playhead"));
  lane.addEventListener("pointerdown", (event) => scrub(event, lane));
  return lane;
}

function scrub(event, lane) {
  const box = lane.getBoundingClientRect();
  const at = (x) => Math.floor(((x - box.left) / box.width) * data().frames);
  seek(at(event.clientX));
  lane.setPointerCapture(event.pointerId);
  const move = (e) => seek(at(e.clientX));
  const up = () => {
    lane.removeEventListener("pointermove", move);
    lane.removeEventListener("pointerup", up);
  };
  lane.addEventListener("pointermove", move);
  lane.addEventListener("pointerup", up);
}

function bar(row) {
  const node = el("div", `tl-bar tl-${row.phase}`);
  node.dataset.layer = row.layer_id;
  if (row.stale) node.classList.add("tl-stale");
  if (!row.animated) node.classList.add("tl-unanimated");
  if (!row.editable) node.classList.add("tl-locked");
  node.style.left = pct(row.start);
  node.style.width = pct(row.span);
  const segments = row.segments || [];
  const what = segments.length ? segments.map((s) => `${s.preset} (${s.phase})`).join(" → ") : row.phase;
  const label = what + (row.follows ? ` · follows ${row.follows}` : "") + (row.stale ? " · animate to apply" : "");
  node.title = `${row.name}: ${what}, frames ${row.start}–${row.start + row.span - 1}`;
  if (segments.length) {
    // a sequence: one segment per step, in its phase's colour; the bar itself is the window
    node.classList.add("tl-sequence");
    for (const s of segments) {
      const seg = el("span", `tl-seg tl-${s.phase}`);
      seg.style.left = `${(100 * (s.start - row.start)) / row.span}%`;
      seg.style.width = `${(100 * s.span) / row.span}%`;
      node.appendChild(seg);
    }
  }
  if (row.editable) node.appendChild(el("span", "tl-grip tl-grip-start"));
  node.appendChild(el("span", "tl-label", label));
  if (row.editable) {
    node.appendChild(el("span", "tl-grip tl-grip-end"));
    node.addEventListener("pointerdown", (event) => grab(event, node, row));
  }
  return node;
}

function draw() {
  view.redraw = false;
  const { fps, frames, rows } = data();
  element.replaceChildren();
  const root = el("div", "tl");
  const head = el("div", "tl-head");
  const play = el("button", "tl-play", "▶");
  play.type = "button";
  play.title = "Play / pause the poster preview (Space)";
  play.addEventListener("click", togglePlay);
  head.append(play, el("span", "tl-clock"), el("span", "tl-length", `${frames} frames at ${fps} fps`),
    el("span", "tl-hint", "Space: play/pause · ←/→: one frame · drag a bar to move it, its ends to trim"));
  root.appendChild(head);
  const top = el("div", "tl-row tl-ruler-row");
  top.append(el("div", "tl-name", ""), ruler(frames, fps));
  root.appendChild(top);
  for (const row of rows) {
    const line = el("div", "tl-row" + (row.active ? " tl-active" : ""));
    line.dataset.layer = row.layer_id;
    line.dataset.name = row.name;
    line.dataset.phase = row.phase;
    line.dataset.start = row.start;
    line.dataset.span = row.span;
    const lane = el("div", "tl-lane");
    lane.append(bar(row), el("div", "tl-playhead"));
    const name = el("div", "tl-name", row.name);
    name.title = `Edit ${row.name} in the motion panel`;
    name.addEventListener("click", () => trigger("pick", { layer_id: row.layer_id }));
    line.append(name, lane);
    root.appendChild(line);
  }
  if (!rows.length) root.appendChild(el("div", "tl-empty", "Layers with a motion prompt appear here, one row each."));
  element.appendChild(root);
  const v = video();
  showFrame(v ? frameOf(v.currentTime) : clamp(view.frame, 0, frames - 1));
}

// ---- dragging a bar: the middle moves it, the ends trim it; snapped to frames, kept in [0, frames]

function grab(event, node, row) {
  event.preventDefault();
  event.stopPropagation();
  const lane = node.parentElement.getBoundingClientRect();
  const { frames } = data();
  const grip = event.target.classList;
  const mode = grip.contains("tl-grip-start") ? "start" : grip.contains("tl-grip-end") ? "end" : "move";
  const end = row.start + row.span;
  let start = row.start, span = row.span;
  const x0 = event.clientX;
  node.setPointerCapture(event.pointerId);
  node.classList.add("tl-dragging");
  view.dragging = true;
  const move = (e) => {
    const d = Math.round(((e.clientX - x0) / lane.width) * frames);
    if (mode === "move") {
      start = clamp(row.start + d, 0, row.open_end ? frames - 1 : frames - row.span);
      span = row.open_end ? frames - start : row.span;
    } else if (mode === "start") {
      start = clamp(row.start + d, 0, end - 1);
      span = end - start;
    } else {
      span = clamp(end + d, row.start + 1, frames) - row.start;
    }
    node.style.left = pct(start);
    node.style.width = pct(span);
    node.title = `${row.name}: frames ${start}–${start + span - 1}`;
  };
  const up = () => {
    node.removeEventListener("pointermove", move);
    node.removeEventListener("pointerup", up);
    node.classList.remove("tl-dragging");
    view.dragging = false;
    if (view.redraw) draw();  // rows that arrived mid-drag
    if (start === row.start && span === row.span) return;
    const edit = { layer_id: row.layer_id, start };
    // a trim sets the duration; a move keeps it (a loop to the end stays open-ended)
    if (mode === "end" || (mode === "start" && !row.open_end)) edit.duration = span;
    trigger("timing", edit);
  };
  node.addEventListener("pointermove", move);
  node.addEventListener("pointerup", up);
}

// ---- keys: Space plays or pauses, ←/→ step one frame (never while typing)

function typing(target) {
  if (!target || !target.closest) return false;
  return !!target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true'], [role='listbox']");
}

// One listener for the page; it calls the timeline drawn last (a re-mount replaces it).
window.__posterTimeline = { toggle: togglePlay, step: (by) => seek(view.frame + by) };
if (!window.__posterTimelineKeys) {
  window.__posterTimelineKeys = true;
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const timeline = window.__posterTimeline;
    if (event.key === " " || event.code === "Space") {
      event.preventDefault();
      timeline.toggle();
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      timeline.step(event.key === "ArrowRight" ? 1 : -1);
    }
  });
}

// The preview's own play, pause and seeks move the playhead (media events do not bubble: capture).
for (const type of ["play", "pause", "seeked", "timeupdate", "loadedmetadata"]) {
  document.addEventListener(type, (event) => {
    if (event.target instanceof HTMLVideoElement && event.target.closest("#poster-preview")) follow();
  }, true);
}

// New rows from the server; one arriving mid-drag waits for the mouse to be released.
watch("value", () => (view.dragging ? (view.redraw = true) : draw()));
draw();
