"""Environment defaults that installed plugins declare, set when ``import assay`` runs.

Some libraries read a setting from the environment once, when they are imported: TensorFlow reads its C++ log
level (``TF_CPP_MIN_LOG_LEVEL``) that way. A plugin's hooks load only when assay first needs them, and by then
the user has usually imported the library already (``import assay`` then ``from keras import ...``). So a plugin
may declare such defaults under the entry-point group ``assay.environment``: a mapping of variable name to value
in a module that imports nothing heavy, e.g. in ``pyproject.toml``::

    [project.entry-points."assay.environment"]
    keras = "assay_keras.environment:DEFAULTS"

``import assay`` sets every declared variable the user has not set, so a value the user chose always wins.
Plugins blocked with ``ASSAY_BLOCK_PLUGINS`` (by entry-point name) declare nothing; a declaration that fails to
load is skipped (logged at debug level: :mod:`assay.plugins` reports a broken plugin when it loads it), never
raised: it must not break ``import assay``.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from collections.abc import Mapping

ENTRY_POINT_GROUP = "assay.environment"
BLOCK_ENV = "ASSAY_BLOCK_PLUGINS"  # the same variable (and names) as assay.plugins

logger = logging.getLogger(__name__)


def apply_plugin_defaults() -> dict[str, str]:
    """Set each environment default the installed plugins declare, unless already set; returns those set."""
    blocked = {name.strip() for name in os.environ.get(BLOCK_ENV, "").split(",") if name.strip()}
    applied: dict[str, str] = {}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in blocked:
            continue
        try:
            defaults = entry_point.load()
        except Exception as exc:  # a broken plugin must not break `import assay`; plugins.py reports it later
            logger.debug("plugin %r: cannot read its environment defaults: %s", entry_point.name, exc)
            continue
        if not isinstance(defaults, Mapping):
            logger.debug("plugin %r: %s is not a mapping of environment variables", entry_point.name,
                           entry_point.value)
            continue
        for name, value in defaults.items():
            if isinstance(name, str) and name not in os.environ:
                os.environ[name] = applied[name] = str(value)
    return applied
