"""Document colour to sRGB, once, at import.

psd-tools composites in the document's own colour space (CMYK, Lab, grayscale, ...) and
hands back float arrays in that space. Everything after import (compositor, motion
engines, browser) speaks straight-alpha sRGB, so each layer is converted exactly once
here, through the document's embedded ICC profile where it has one (PIL.ImageCms), the
same way psd-tools converts its own composite. Quantising and channel order follow
psd_tools.composite.composite_pil so our layers and its composite agree bit for bit on
RGB documents.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageChops, ImageCms
from psd_tools.api import pil_io
from psd_tools.constants import ColorMode


class SrgbConverter:
    """Converts psd-tools float canvases of one document to sRGB RGBA uint8.

    Building a little-cms transform costs far more than applying one, so it is built
    once per document and reused for every layer. `notes` collects designer-facing
    sentences about conversions that could not be done exactly.
    """

    def __init__(self, color_mode: ColorMode, icc_profile: bytes | None) -> None:
        self.color_mode = color_mode
        mode = pil_io.get_pil_mode(color_mode)
        self.pil_mode = "RGB" if mode == "P" else mode
        self.notes: list[str] = []
        self._transform = None
        if icc_profile:
            self._transform = self._build_transform(icc_profile)
        elif self.pil_mode == "LAB":
            self._transform = ImageCms.buildTransform(
                ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
            )

    def _build_transform(self, icc_profile: bytes):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            in_mode = "L" if self.pil_mode == "1" else self.pil_mode
            return ImageCms.buildTransform(source, ImageCms.createProfile("sRGB"), in_mode, "RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            self.notes.append(
                "The colour profile embedded in this file could not be read; colours were "
                "converted to sRGB without it and may look slightly different."
            )
            return None

    def convert(self, color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """(h, w, c) float colour and (h, w, 1) float alpha in [0, 1] -> (h, w, 4) sRGB uint8."""
        image = self.to_document_image(color)
        rgb = self.image_to_rgb(image)
        out = np.empty(color.shape[:2] + (4,), dtype=np.uint8)
        out[..., :3] = rgb
        out[..., 3] = np.clip(255 * alpha[..., 0], 0, 255).astype(np.uint8)
        return out

    def to_document_image(self, color: np.ndarray) -> Image.Image:
        """Float colour as a PIL image in the document's mode, quantised like psd-tools does."""
        channels = pil_io.get_pil_channels(self.pil_mode)
        pixels = np.clip(255 * color[..., :channels], 0, 255).astype(np.uint8)
        if self.pil_mode in ("1", "L"):
            return Image.fromarray(np.ascontiguousarray(pixels[..., 0]), "L")
        if self.pil_mode == "LAB":
            bands = [Image.fromarray(np.ascontiguousarray(pixels[..., i]), "L") for i in range(3)]
            return Image.merge("LAB", bands)
        image = Image.fromarray(np.ascontiguousarray(pixels), self.pil_mode)
        if self.pil_mode == "CMYK":
            image = ImageChops.invert(image)  # psd-tools keeps CMYK as "ink left", inverted
        return image

    def image_to_rgb(self, image: Image.Image) -> np.ndarray:
        """A document-mode PIL image (no alpha) to (h, w, 3) sRGB uint8."""
        if image.mode == "1":
            image = image.convert("L")
        if self._transform is not None and image.mode == self._transform.input_mode:
            return np.asarray(ImageCms.applyTransform(image, self._transform))
        return np.asarray(image.convert("RGB"))


def pil_to_rgba(image: Image.Image) -> np.ndarray:
    """Any PIL image psd-tools returns from composite() to (h, w, 4) sRGB uint8.

    Used on psd-tools' own composite for fidelity checks: it has already applied the
    embedded profile where it could, so only the mode is normalised here.
    """
    if image.mode == "LAB":
        transform = ImageCms.buildTransform(
            ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
        )
        image = ImageCms.applyTransform(image, transform)
    if image.mode == "CMYK":
        image = image.convert("RGB")
    return np.asarray(image.convert("RGBA"))
