"""How the dashboard and the notebook displays write values: one rule everywhere."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: shown where a value is missing (an en dash)
MISSING = "\u2013"


def number(value: Any) -> str:
    """A value for people: ints as they are, floats with 4 decimals (4 significant digits when large or tiny)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if value != 0 and (abs(value) >= 10000 or abs(value) < 0.001):
            return f"{value:.4g}"
        return f"{value:.4f}"
    return str(value)
