"""Avatars decoded and re-encoded with Pillow: the upload's bytes decide what it is (never
its name or declared type), only JPEG, PNG and WebP are opened, and nothing of the upload but
its pixels survives (EXIF, GPS, XMP, ICC profiles, comments are all left behind)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageOps, UnidentifiedImageError

from write_side.avatars.errors import UnsupportedImageError
from write_side.avatars.ports import Rendition

ACCEPTED = ("JPEG", "PNG", "WEBP")  # Pillow's plugin names: no other decoder is ever tried
# Decoding needs ~4 bytes a pixel: 40 MP is a big phone photo and bounds one decode at
# ~160 MB, far below Pillow's own bomb limit (89 MP warns, 179 MP refuses).
MAX_PIXELS = 40_000_000
WEBP_QUALITY = 85
# What a corrupt or hostile file makes Pillow's decoders raise.
_UNDECODABLE = (
    UnidentifiedImageError,
    Image.DecompressionBombError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
)


class PillowAvatarImages:
    """Square WebP renditions, centre-cropped, oriented as the camera meant (EXIF orientation
    applied before the EXIF is dropped)."""

    def render(self, upload: bytes, sizes: Sequence[int]) -> list[Rendition]:
        try:
            image = _decoded(upload, max(sizes))
            return [_rendition(image, size) for size in sizes]
        except _UNDECODABLE as error:
            raise UnsupportedImageError(
                "the file is not a readable JPEG, PNG or WebP image"
            ) from error


def _decoded(upload: bytes, largest: int) -> Image.Image:
    with Image.open(io.BytesIO(upload), formats=ACCEPTED) as probe:
        # Only the header is read so far: refuse a decompression bomb before decoding it.
        if probe.width * probe.height > MAX_PIXELS:
            raise UnsupportedImageError(f"more than {MAX_PIXELS} pixels")
        probe.verify()  # a truncated or corrupt file fails here (PNG: every chunk's CRC)
    with Image.open(io.BytesIO(upload), formats=ACCEPTED) as image:
        if image.format == "JPEG":
            image.draft("RGB", (largest, largest))  # decode at 1/2..1/8 scale when large
        image.load()
        oriented = ImageOps.exif_transpose(image)
    mode = "RGBA" if oriented.has_transparency_data else "RGB"
    return oriented.convert(mode)


def _rendition(image: Image.Image, size: int) -> Rendition:
    square = ImageOps.fit(image, (size, size), Image.Resampling.LANCZOS)
    # A new image from the pixels alone: no `info` (exif, icc_profile, xmp, ...) to carry on.
    pixels = Image.frombytes(square.mode, square.size, square.tobytes())
    out = io.BytesIO()
    pixels.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    return Rendition(size=size, data=out.getvalue(), content_type="image/webp", extension="webp")
