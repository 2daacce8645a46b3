"""Figures for the dashboard: the Python API's own matplotlib plots, rendered to SVG or PNG bytes and cached.

The pages draw nothing themselves: every image is a function of :mod:`assay.evaluation.plots` (the ones a
user calls from Python), so the dashboard, the HTML report and a notebook show the same plots. Rendering takes
tens of milliseconds per figure, so the bytes are kept in a small LRU cache keyed by what the figure shows:
a trained model never changes, and a queue's figures are keyed by its progress, so they are redrawn only when
a job finished.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: image formats the dashboard serves, with their media types
MEDIA_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
#: PNG resolution; figures are shown at their natural size in CSS pixels, so 2x stays sharp on dense screens
PNG_DPI = 144
#: rendered images kept in memory (a few hundred kB at most each)
CACHE_SIZE = 256


class FigureCache:
    """Rendered figure bytes by key, least recently used dropped first; safe to share between threads."""

    def __init__(self, size: int = CACHE_SIZE):
        self._size = size
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()
        # matplotlib's text layout and font cache are not thread-safe: draw one figure at a time
        self._draw_lock = threading.Lock()

    def get(self, key: Hashable, draw: Callable[[], Figure], image_format: str) -> bytes:
        """The bytes of the figure ``draw()`` returns, as ``image_format`` ("svg" or "png"), cached under ``key``."""
        full_key = (key, image_format)
        with self._lock:
            if full_key in self._items:
                self._items.move_to_end(full_key)
                return self._items[full_key]
        with self._draw_lock:
            data = to_bytes(draw(), image_format)
        with self._lock:
            self._items[full_key] = data
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return data

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def to_bytes(figure: Figure, image_format: str) -> bytes:
    """A figure as SVG or PNG bytes on a white background (the figure's constrained layout already fits it)."""
    buffer = io.BytesIO()
    options = {"dpi": PNG_DPI} if image_format == "png" else {}
    # SVG text stays text (searchable, crisp, small); the metadata date would make identical figures differ
    figure.savefig(buffer, format=image_format, facecolor="white", metadata={"Date": None}
                   if image_format == "svg" else None, **options)
    return buffer.getvalue()
