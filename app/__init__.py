"""The browser editor: Gradio layout (ui), plain event functions (handlers), per-session state.

Nothing in engine/ imports this package; the editor only calls the engine's public API.
"""
