"""How altair charts render: offline in the static book, and live in JupyterLab.

* ``book``: HTML that calls ``vegaEmbed`` from the vendored bundle (``static/vendor``, loaded by every book page),
  so the built book needs no network. Those scripts exist only in the built pages, so this HTML shows nothing in a
  live notebook.
* ``live``: the spec itself under the Vega-Lite mimetypes that Jupyter front ends render with their own bundled
  Vega (JupyterLab, Notebook 7, VS Code): no network and no vendored scripts.

``setup()`` picks the mode from where the chapter runs: ``book`` in a kernel started by the chapter runner (it sets
``$LOCALCODES_BOOK_RUN``, ``store.BOOK_RUN_ENV``), ``live`` anywhere else (``make lab``, a notebook of your own).
"""

from __future__ import annotations

import hashlib
import json
import os

import altair as alt

from ..store import BOOK_RUN_ENV

__all__ = ["setup", "render", "live_render", "where", "MODES", "VEGALITE_MIME", "LIVE_MIMES"]

VEGALITE_MIME = f"application/vnd.vegalite.{alt.SCHEMA_VERSION.split('.')[0]}+json"
# JupyterLab 4 renders Vega-Lite up to v5 (its bundled vega-embed) and shows nothing for a v6 mimetype, so the
# live bundle offers the spec under both: a front end takes the newest it knows. Vega-Lite 5 reads the book's
# specs (params bound to inputs, folds, filters: nothing v6 added); tests/test_live.py renders one in JupyterLab.
V5_MIME = "application/vnd.vegalite.v5+json"
V5_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
LIVE_MIMES = tuple(dict.fromkeys([VEGALITE_MIME, V5_MIME]))
MODES = ("auto", "book", "live")
_EMBED_OPTIONS = {"renderer": "svg", "actions": False}


def _chart_id(text: str) -> str:
    return "lc-chart-" + hashlib.sha1(text.encode()).hexdigest()[:12]


def render(spec: dict, **_: object) -> dict:
    """Altair renderer for the static book: an HTML snippet that embeds ``spec`` with the page's vendored
    vega-embed."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    div = _chart_id(text)
    safe = text.replace("</", "<\\/")  # a spec string must not close the script element
    html = (
        f'<div id="{div}" class="localcodes-chart"></div>\n'
        '<script type="text/javascript">\n(function () {\n'
        f"  var spec = {safe};\n"
        "  function show() {\n"
        "    if (!window.vegaEmbed) {\n"
        f'      document.getElementById("{div}").innerText = "This chart needs the book\'s vendored vega-embed '
        '(open it in the built book, or run charts.setup(\'live\') in a live notebook).";\n'
        "      return;\n    }\n"
        f'    window.vegaEmbed("#{div}", spec, {json.dumps(_EMBED_OPTIONS)}).catch(function (err) {{\n'
        f'      console.error(err); document.getElementById("{div}").innerText = "chart failed: " + err;\n'
        "    });\n  }\n"
        '  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", show); }\n'
        "  else { show(); }\n})();\n</script>"
    )
    return {"text/html": html, "text/plain": f"<altair chart {div}>"}


def live_render(spec: dict, **_: object) -> dict:
    """Altair renderer for a live kernel: ``spec`` under ``LIVE_MIMES``, drawn by the front end's own Vega."""
    bundle: dict = {mime: spec for mime in LIVE_MIMES}
    if V5_MIME in bundle and VEGALITE_MIME != V5_MIME:  # named as v5, or vega-embed warns on every chart
        bundle[V5_MIME] = {**spec, "$schema": V5_SCHEMA}
    bundle["text/plain"] = f"<altair chart {_chart_id(json.dumps(spec, sort_keys=True, separators=(',', ':')))}>"
    return bundle


def where() -> str:
    """``book`` inside a chapter run by ``localcodes run/build`` (``$LOCALCODES_BOOK_RUN`` set), else ``live``."""
    return "book" if os.environ.get(BOOK_RUN_ENV) else "live"


def setup(mode: str = "auto") -> str:
    """Enable the renderer for the static book (``book``), for a live kernel (``live``; ``jupyter`` is the same),
    or the one that fits where this runs (``auto``, see :func:`where`). Returns the mode enabled."""
    chosen = "live" if mode == "jupyter" else mode
    if chosen not in MODES:
        raise ValueError(f"mode must be one of {MODES} (or 'jupyter', meaning 'live'); got {mode!r}")
    if chosen == "auto":
        chosen = where()
    alt.data_transformers.disable_max_rows()
    alt.renderers.register("localcodes", render)
    alt.renderers.register("localcodes-live", live_render)
    alt.renderers.enable("localcodes" if chosen == "book" else "localcodes-live")
    return chosen
