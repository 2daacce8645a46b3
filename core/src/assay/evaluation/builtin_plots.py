"""The core's plot plugin: the built-in prediction plots of each analysis type (``trylast``, like
:mod:`assay.defaults`), so a plugin overrides a plot by registering the same name."""

from __future__ import annotations

from assay.hookspecs import hookimpl


@hookimpl(trylast=True)
def assay_plots(analysis_type: str):
    # matplotlib loads only when a plot is asked for, not in every process that builds the plugin manager
    from assay.evaluation import plots

    return plots.default_plots(analysis_type)
