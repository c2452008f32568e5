"""The product's nouns, shared by every other part: Poster and Layer, Box, LayerClip,
Project and its file format, and the small utilities they need (atomic writes, progress).

Nothing here imports another engine package, so every other package may import this one.
"""
