"""Every figure of the book: the offline renderer and the charts of each part.

``charts.setup()`` enables the renderer for the static book; the selectivity charts (jitterplots, histograms,
measure scatter plots) are importable from here. Charts of one part of the study live in their own module
(``localcodes.charts.<part>``).
"""

from .render import VEGALITE_MIME, render, setup
from .selectivity import histogram, jitter_data, jitterplot, measure_lines, measure_scatter

__all__ = ["setup", "render", "VEGALITE_MIME", "jitterplot", "jitter_data", "histogram", "measure_lines",
           "measure_scatter"]
