"""The model package's own error, so engine.dmdl stands alone (no engine.core import).

Messages are still written for a person (what is wrong, what to do): a training script
prints them as they are, and the engine's adapter (engine/motion/dmdl_engine.py) passes
them on to the designer as a PosterError.
"""


class DMDLError(ValueError):
    """A clip, box, checkpoint or option the model cannot use; the message says how to fix it."""
