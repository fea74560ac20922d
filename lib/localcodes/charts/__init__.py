"""Every figure of the book: the offline renderer and the charts of each part.

``charts.setup()`` enables the renderer that fits where a chapter runs (offline HTML in the static book, Vega-Lite
mimetypes in a live kernel); the selectivity charts (jitterplots, histograms, measure scatter plots) are importable
from here. Charts of one part of the study live in their own module
(``localcodes.charts.<part>``).
"""

from .render import LIVE_MIMES, VEGALITE_MIME, live_render, render, setup
from .selectivity import histogram, jitter_data, jitterplot, measure_lines, measure_scatter

__all__ = ["setup", "render", "live_render", "VEGALITE_MIME", "LIVE_MIMES", "jitterplot", "jitter_data", "histogram",
           "measure_lines", "measure_scatter"]
