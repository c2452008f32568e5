"""Poster + clips -> frames: the compositor (`compositor`) and PSD blend modes (`blend`)."""
