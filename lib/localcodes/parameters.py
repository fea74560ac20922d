"""A chapter's parameters: how they are read from the command line and checked, before any work starts.

A chapter declares them in two cells (see ``localcodes.book``): ``parameters`` (``scale = "book"`` and
``name = None`` per overridable setting) and ``presets``, which holds

* ``PRESETS = {scale: {name: value}}``: each scale's values (their types are the parameters' types);
* ``CHOICES = {name: [allowed values]}``: for a parameter that takes one of a few values (a list parameter takes a
  non-empty list of them);
* ``RANGES = {name: (low, high)}``: inclusive bounds for a number, or for every element of a list of numbers (int
  bounds ask for integers); or ``"text"`` for free text and ``"path"`` for a path that must exist.

Every parameter but ``scale`` is covered by ``CHOICES`` or ``RANGES`` or is a bool. The same checks run twice: by
``localcodes run/build`` (``validate``, before a kernel starts) and by the chapter's first cell (``settings``), so a
chapter run by papermill alone refuses a bad or unknown parameter too.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path
from types import SimpleNamespace

from .store import SCALES

__all__ = ["FREE", "parse_value", "describe", "check_values", "validate", "settings", "injected_names"]

#: The RANGES entries for strings without a fixed set of values.
FREE = ("text", "path")


def parse_value(text: str):
    """A command-line value as a Python literal (``3``, ``0.5``, ``[100, 500]``, ``true``), else the string."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _reference(name: str, presets: dict, default=None):
    """The parameter's type example: its first non-None preset value (else ``default``)."""
    return next((p[name] for p in presets.values() if p.get(name) is not None), default)


def _type_ok(value, ref) -> bool:
    if ref is None or value is None:
        return True
    if isinstance(ref, bool):
        return isinstance(value, bool)
    if isinstance(ref, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(ref, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(ref, (list, tuple)):
        if not isinstance(value, (list, tuple)):
            return False
        return not ref or all(_type_ok(v, ref[0]) for v in value)
    if isinstance(ref, dict):
        return isinstance(value, dict)
    return isinstance(value, type(ref))


def _allowed(name: str, ref, choices: dict, ranges: dict) -> str:
    if name in choices:
        return (f"a non-empty list from {choices[name]}" if isinstance(ref, (list, tuple))
                else f"one of {choices[name]}")
    bound = ranges.get(name)
    if bound in FREE:
        return "free text" if bound == "text" else "a path that exists"
    if bound is not None:
        lo, hi = bound
        kind = "integer" if isinstance(lo, int) and isinstance(hi, int) else "number"
        what = f"{kind} in [{lo}, {hi}]"
        article = "an" if kind == "integer" else "a"
        return (f"a non-empty list, each {article} {what}" if isinstance(ref, (list, tuple))
                else f"{article} {what}")
    if isinstance(ref, bool):
        return "true or false"
    return f"{type(ref).__name__} (e.g. {ref!r})" if ref is not None else "any value"


def describe(params: dict, presets: dict, choices: dict, ranges: dict) -> str:
    """One line per parameter: its name and what it accepts (for error messages and ``localcodes chapters``)."""
    lines = []
    for key in params:
        if key == "scale":
            lines.append(f"  scale: one of {list(presets)} (set with --scale)")
            continue
        lines.append(f"  {key}: {_allowed(key, _reference(key, presets, params.get(key)), choices, ranges)}")
    return "\n".join(lines)


def _numbers_problem(values: list, bound: tuple) -> str | None:
    lo, hi = bound
    integral = isinstance(lo, int) and isinstance(hi, int)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (integral and not isinstance(v, int)):
            return "is not an integer" if integral else "is not a number"
        if not math.isfinite(v) or not lo <= v <= hi:
            return "is out of range"
    return None


def check_values(chapter: str, values: dict, presets: dict, choices: dict | None = None,
                 ranges: dict | None = None, defaults: dict | None = None) -> None:
    """Raise ValueError naming the parameter and what it accepts for the first value that is not allowed (type,
    choice, range, empty list, a path that does not exist). ``None`` means "the preset's value" and passes."""
    choices, ranges, defaults = dict(choices or {}), dict(ranges or {}), dict(defaults or {})
    for key, value in values.items():
        if value is None:
            continue
        ref = _reference(key, presets, defaults.get(key))
        is_list = isinstance(ref, (list, tuple))
        problem = None
        if is_list and not isinstance(value, (list, tuple)):
            problem = "must be a list"
        elif not is_list and ref is not None and isinstance(value, (list, tuple)):
            problem = "must be a single value, not a list"
        elif is_list and not value:
            problem = "must not be empty"
        elif key in choices:
            allowed = choices[key]
            items = value if is_list else [value]
            if any(isinstance(v, (list, dict)) or v not in allowed for v in items):
                problem = "is not allowed"
        elif ranges.get(key) in FREE:
            if not isinstance(value, str):
                problem = "has the wrong type"
            elif ranges[key] == "path" and not Path(value).expanduser().exists():
                problem = "names no existing path"
        elif key in ranges:
            problem = _numbers_problem(list(value) if is_list else [value], tuple(ranges[key]))
        elif not _type_ok(value, ref):
            problem = "has the wrong type"
        if problem:
            raise ValueError(f"chapter {chapter}: {key}={value!r} {problem}; {key} takes "
                             f"{_allowed(key, ref, choices, ranges)}")


def validate(spec, scale: str, overrides: dict | None = None) -> dict:
    """Check a scale and overrides against a chapter's declarations (a ``book.ChapterSpec``); return the papermill
    parameters or raise ValueError naming what is wrong and what is allowed."""
    overrides = dict(overrides or {})
    if "scale" in overrides:
        raise ValueError(f"chapter {spec.name}: the scale is set with --scale (one of {list(spec.presets)}), "
                         "not as a parameter")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {list(SCALES)}; got {scale!r}")
    if scale not in spec.presets:
        raise ValueError(f"chapter {spec.name} has no {scale!r} preset: its scales are {list(spec.presets)}")
    text = describe(spec.params, spec.presets, spec.choices, spec.ranges)
    unknown = [k for k in overrides if k not in spec.params]
    if unknown:
        raise ValueError(f"chapter {spec.name}: unknown parameter(s) {unknown}. Allowed parameters:\n{text}")
    try:
        check_values(spec.name, overrides, spec.presets, spec.choices, spec.ranges, spec.params)
    except ValueError as err:
        raise ValueError(f"{err}. Allowed parameters:\n{text}") from None
    return {"scale": scale, **overrides}


def injected_names() -> list[str]:
    """The names papermill assigned in this kernel's injected ``# Parameters`` cell (empty outside a kernel)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the book's tools
        return []
    shell = get_ipython()
    if shell is None:
        return []
    names: list[str] = []
    for source in shell.user_ns.get("In", []):
        if isinstance(source, str) and source.lstrip().startswith("# Parameters"):
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue
            names += [t.id for node in tree.body if isinstance(node, ast.Assign)
                      for t in node.targets if isinstance(t, ast.Name)]
    return names


def settings(presets: dict, scale: str, choices: dict | None = None, ranges: dict | None = None,
             chapter: str = "this chapter", **overrides) -> SimpleNamespace:
    """Inside a chapter: the scale's preset with every non-None override applied, after the same checks as
    ``validate`` (so papermill alone refuses an unknown parameter or a bad value too)."""
    if scale not in presets:
        raise ValueError(f"scale must be one of {list(presets)}; got {scale!r}")
    merged = dict(presets[scale])
    unknown = [k for k in overrides if k not in merged]
    if unknown:
        raise ValueError(f"unknown setting(s) {unknown}; the presets define {sorted(merged)}")
    injected = [n for n in injected_names() if n != "scale" and n not in overrides]
    if injected:
        raise ValueError(f"{chapter}: unknown parameter(s) {injected}. Allowed parameters:\n"
                         + describe({"scale": scale, **overrides}, presets, choices or {}, ranges or {}))
    check_values(chapter, overrides, presets, choices, ranges)
    merged.update({k: v for k, v in overrides.items() if v is not None})
    merged["scale"] = scale
    return SimpleNamespace(**merged)
