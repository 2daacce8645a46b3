"""Image data in: a folder of image files (in natural order of file name: ``img_2`` before ``img_10``) or a list
of local file paths, read with Pillow.

Images become one array of samples x channels x height x width (channels first, as stored and as PyTorch
expects; the Keras backend moves channels last itself). Grayscale (``L``) gives one channel, ``RGB`` three.
All images must share one size and one mode: resize or convert them first (the error says how). Nothing is
read from the network: a URL is refused.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from assay import errors
from assay.data.sequence import check_dtype

PARAMETER = "feature_folder_or_urls"
MODES = {"L": ["L"], "RGB": ["R", "G", "B"]}
_URL_PREFIXES = ("http://", "https://", "ftp://", "s3://", "gs://", "file://")


def _image_module():
    try:
        from PIL import Image
    except ImportError as exc:  # Pillow is a dependency of assay; a broken install gets a clear message
        raise errors.DataError(PARAMETER, "reading images needs Pillow: pip install pillow") from exc
    return Image


def natural_key(path: Path) -> tuple[tuple[Any, ...], str]:
    """A file's place in natural order: digit runs compare as numbers, so ``img_2`` comes before ``img_10`` (as
    AIQC's ``natsorted`` read folders, and as a label table numbered 1, 2, ..., 10 lists them). Zero-padded names
    keep their plain order; equal keys (``a01``, ``a1``) fall back to the name."""
    pieces = re.split(r"(\d+)", path.name)
    return tuple(int(piece) if index % 2 else piece for index, piece in enumerate(pieces)), path.name


def _is_url(value: str) -> bool:
    return value.strip().lower().startswith(_URL_PREFIXES) or "://" in value


def image_paths(feature_folder_or_urls: Any, parameter: str = PARAMETER) -> tuple[list[Path], str | None]:
    """The image files to read, in sample order, and a name (the folder's) for the dataset."""
    value = feature_folder_or_urls
    if isinstance(value, (str, Path)):
        if isinstance(value, str) and _is_url(value):
            raise errors.DataError(parameter, f"{value!r} is a URL; assay reads no network: download the images "
                                   "and pass their folder or a list of local file paths")
        folder = Path(value)
        if not folder.is_dir():
            raise errors.DataError(parameter, f"{str(folder)!r} is not a folder; pass a folder of images or a list "
                                   "of image file paths")
        paths = sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")),
                       key=natural_key)
        if not paths:
            raise errors.DataError(parameter, f"the folder {str(folder)!r} holds no image files")
        return paths, folder.name
    if isinstance(value, (list, tuple)):
        if not value:
            raise errors.DataError(parameter, "the list of image files is empty")
        paths = []
        for item in value:
            if not isinstance(item, (str, Path)):
                raise errors.DataError(parameter, f"expected file paths, got {type(item).__name__}: {item!r}")
            if isinstance(item, str) and _is_url(item):
                raise errors.DataError(parameter, f"{item!r} is a URL; assay reads no network: download the "
                                       "images and pass local file paths")
            if not Path(item).is_file():
                raise errors.DataError(parameter, f"{str(item)!r} is not a file")
            paths.append(Path(item))
        return paths, None
    raise errors.DataError(parameter, f"expected a folder path or a list of image file paths, got "
                           f"{type(value).__name__}")


def _header(image_module: Any, path: Path, parameter: str) -> tuple[tuple[int, int], str]:
    try:
        with image_module.open(path) as image:
            return image.size, image.mode
    except (image_module.UnidentifiedImageError, OSError) as exc:
        raise errors.DataError(parameter, f"{str(path)!r} is not an image Pillow can read ({exc}); move "
                               "non-image files out of the folder") from exc


def read_images(feature_folder_or_urls: Any, feature_dtype: Any = None,
                parameter: str = PARAMETER) -> tuple[np.ndarray, list[str], str | None]:
    """``(samples x channels x height x width array, file names, dataset name)``.

    Every file's header is checked before any pixel is decoded, so a mixed folder fails fast.

    Raises:
        assay.errors.DataError: a URL, an empty folder, a file Pillow cannot read, images of mixed size or mode,
            or a mode other than grayscale (L) and RGB; naming the parameter and the fix.
    """
    dtype = check_dtype(feature_dtype)
    Image = _image_module()
    paths, name = image_paths(feature_folder_or_urls, parameter)
    headers = [_header(Image, path, parameter) for path in paths]
    modes = Counter(mode for _, mode in headers)
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise errors.DataError(parameter, f"images in mode(s) {unknown} are neither grayscale (L) nor RGB; convert "
                               "them, e.g. Image.open(p).convert('RGB').save(p2)")
    if len(modes) > 1:
        raise errors.DataError(parameter, f"images have mixed modes {dict(modes)}; convert them all to one, e.g. "
                               "Image.open(p).convert('RGB').save(p2)")
    sizes = Counter(size for size, _ in headers)
    if len(sizes) > 1:
        common = sizes.most_common(1)[0][0]
        odd = next(str(path.name) for path, (size, _) in zip(paths, headers, strict=True) if size != common)
        raise errors.DataError(
            parameter,
            f"images have mixed sizes (width, height) {dict(sizes)} (e.g. {odd!r}); resize them all to one size "
            f"first, e.g. Image.open(p).resize({common}).save(p2) for each file, and pass the new folder",
        )
    (width, height), mode = headers[0]
    out = np.empty((len(paths), len(MODES[mode]), height, width), dtype=np.uint8)
    for index, path in enumerate(paths):
        with Image.open(path) as image:
            pixels = np.asarray(image)
        out[index] = pixels[np.newaxis] if pixels.ndim == 2 else np.moveaxis(pixels, -1, 0)
    if dtype is not None and dtype != out.dtype:
        out = out.astype(dtype)
    return out, [path.name for path in paths], name


def channel_names(mode_channel_count: int) -> list[str]:
    """``["L"]`` for grayscale, ``["R", "G", "B"]`` for RGB."""
    return MODES["L"] if mode_channel_count == 1 else MODES["RGB"]
