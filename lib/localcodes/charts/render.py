"""An altair renderer that works offline in the static book.

Charts are rendered as HTML that calls ``vegaEmbed`` from the vendored bundle (``static/vendor``, loaded by every
book page), so the built book needs no network. ``setup('jupyter')`` switches to altair's own renderer for a live
notebook.
"""

from __future__ import annotations

import hashlib
import json

import altair as alt

__all__ = ["setup", "render", "VEGALITE_MIME"]

VEGALITE_MIME = f"application/vnd.vegalite.{alt.SCHEMA_VERSION.split('.')[0]}+json"
_EMBED_OPTIONS = {"renderer": "svg", "actions": False}


def render(spec: dict, **_: object) -> dict:
    """Altair renderer: an HTML snippet that embeds ``spec`` with the page's vendored vega-embed."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    div = "lc-chart-" + hashlib.sha1(text.encode()).hexdigest()[:12]
    safe = text.replace("</", "<\\/")  # a spec string must not close the script element
    html = (
        f'<div id="{div}" class="localcodes-chart"></div>\n'
        '<script type="text/javascript">\n(function () {\n'
        f"  var spec = {safe};\n"
        "  function show() {\n"
        "    if (!window.vegaEmbed) {\n"
        f'      document.getElementById("{div}").innerText = "This chart needs the book\'s vendored vega-embed '
        '(open it in the built book, or run charts.setup(\'jupyter\') in a live notebook).";\n'
        "      return;\n    }\n"
        f'    window.vegaEmbed("#{div}", spec, {json.dumps(_EMBED_OPTIONS)}).catch(function (err) {{\n'
        f'      console.error(err); document.getElementById("{div}").innerText = "chart failed: " + err;\n'
        "    });\n  }\n"
        '  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", show); }\n'
        "  else { show(); }\n})();\n</script>"
    )
    return {"text/html": html, "text/plain": f"<altair chart {div}>"}


def setup(mode: str = "book") -> None:
    """Enable the renderer for the static book (``book``) or altair's own live-notebook renderer (``jupyter``)."""
    modes = ("book", "jupyter")
    if mode not in modes:
        raise ValueError(f"mode must be one of {modes}; got {mode!r}")
    alt.data_transformers.disable_max_rows()
    if mode == "book":
        alt.renderers.register("localcodes", render)
        alt.renderers.enable("localcodes")
    else:
        alt.renderers.enable("default")
