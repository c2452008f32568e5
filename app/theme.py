"""The editor's look: a calm neutral theme with one accent, dense panels like a design tool.

System fonts only: the editor must not reach out to a font CDN (it often runs offline).
"""

from __future__ import annotations

import gradio as gr

SYSTEM_FONT = ("Inter", "ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif")
MONO_FONT = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace")


def editor_theme() -> gr.themes.Base:
    theme = gr.themes.Base(
        primary_hue=gr.themes.colors.violet,
        secondary_hue=gr.themes.colors.sky,
        neutral_hue=gr.themes.colors.slate,
        radius_size=gr.themes.sizes.radius_sm,
        spacing_size=gr.themes.sizes.spacing_sm,
        text_size=gr.themes.sizes.text_sm,
        font=SYSTEM_FONT,
        font_mono=MONO_FONT,
    )
    return theme.set(
        body_background_fill="*neutral_100",
        block_background_fill="white",
        block_border_width="1px",
        block_label_text_weight="600",
        block_title_text_weight="600",
        button_primary_background_fill="*primary_600",
        button_primary_background_fill_hover="*primary_700",
        button_primary_text_color="white",
    )


CSS = """
.gradio-container { max-width: 100% !important; }
#topbar { align-items: center; gap: 12px; padding: 4px 6px 0 6px; }
#topbar h2 { margin: 0; font-size: 1.25rem; letter-spacing: -0.01em; }
#poster-title p { color: var(--neutral-500); margin: 0; }
#planner-pill p, #engine-note p { font-size: 0.8rem; color: var(--neutral-600); margin: 0; }
#planner-pill { text-align: right; }
#status { min-height: 1.6em; padding: 2px 8px; border-radius: 6px; background: var(--neutral-50); }
#status p { margin: 0; }
#status.status-problem { background: #fff4e5; border-left: 3px solid #e8833a; }
.panel-title h4 { margin: 6px 0 2px 0; text-transform: uppercase; font-size: 0.72rem;
                  letter-spacing: 0.06em; color: var(--neutral-500); }
#import-notice { border-left: 3px solid #e8a33d; padding-left: 8px; background: #fff8eb;
                 max-height: 220px; overflow-y: auto; font-size: 0.8rem; }
#import-notice:empty, #import-notice .prose:empty { display: none; }
#layers-gallery .thumbnail-item { border-radius: 4px; }
/* Gradio's gallery cells are at least 100 px wide: three of them overflow the 250 px panel. */
#layers-gallery .grid-container { grid-template-columns: repeat(3, minmax(0, 1fr)) !important;
                                  grid-auto-rows: auto !important; }
#layers-gallery .thumbnail-item { width: 100%; min-width: 0; height: auto; aspect-ratio: 1 / 1; }
/* The layer preview plays at the layer's own size (small layers were blown up to fill the
   tab and blurred); only a layer wider than the tab is shrunk to fit. */
#layer-preview video { width: auto !important; height: auto !important; max-width: 100%;
                       max-height: 100%; margin: 0 auto; }
#layers-list .wrap { max-height: 330px; overflow-y: auto; flex-direction: column; flex-wrap: nowrap; }
#layers-list label { font-size: 0.82rem; width: 100%; margin: 0; }
#engine-note { opacity: 0.75; }
#action-bar { flex-wrap: wrap; gap: 6px; }
#action-bar button { min-width: 0; padding-left: 8px; padding-right: 8px; font-size: 0.85rem; }
#canvas canvas { background: #e9ecf1; }
/* The annotator has no option for its rotate buttons, and turning the poster sideways is
   never what a designer means: they are not shown (the page never sends an orientation). */
#canvas button[aria-label^="Rotate"] { display: none !important; }
/* The canvas's hint gets its own line: floated over the picture it hid the names drawn
   at the poster's top edge. */
#canvas > label[data-testid="block-label"].float { position: static; }
/* Messages under the buttons that caused them; empty, they take no room. */
.inline-status { padding: 2px 8px; border-radius: 6px; background: var(--neutral-50); font-size: 0.85rem; }
.inline-status p { margin: 0; }
.inline-status.status-problem { background: #fff4e5; border-left: 3px solid #e8833a; }
.inline-status:not(.status-problem):has(.prose:empty) { display: none; }
"""
