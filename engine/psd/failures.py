"""The sentence a designer reads when psd-tools fails on a file.

Its own module because two places need it and neither should import the other: the
in-process parse (engine/psd/load.py) and the capped child that runs it
(engine/psd/isolation.py), which must still answer with a sentence when the parse dies
in a way the loader could not catch.
"""

from __future__ import annotations


def describe_failure(name: str, error: BaseException) -> str:
    """One sentence for a parser exception: what went wrong and what to do."""
    from psd_tools.compression import PSDDecompressionWarning  # noqa: PLC0415

    text = str(error).lower()
    if isinstance(error, PSDDecompressionWarning) or "decode failed" in text:
        return (
            f"Some pixels of '{name}' are damaged and cannot be decoded (the file may be truncated "
            "or corrupt): open it in Photoshop, save a new copy, and try again."
        )
    if "limit" in text or "exceed" in text or "budget" in text or "too large" in text:
        return (
            f"'{name}' asks for more memory than an import may use ({error.__class__.__name__}): "
            "reduce its size or flatten layers in Photoshop, then try again."
        )
    return (
        f"'{name}' could not be read as a Photoshop file; it looks damaged or truncated "
        f"({error.__class__.__name__}). Open it in Photoshop, save a new copy, and try again."
    )
