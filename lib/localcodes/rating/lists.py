"""Counterbalanced lists of panels, as paper 001 dealt its panels to raters, and the order each rater sees."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["counterbalanced_lists", "rater_order"]


def counterbalanced_lists(panels: pd.DataFrame, n_lists: int, seed: int = 0) -> pd.DataFrame:
    """Split panels (columns ``layer, unit``, any others kept) into ``n_lists`` lists, as paper 001 did.

    Every list gets the same share of each layer (within one panel: conv5, fc6 and fc8 panels are dealt out
    round-robin after a seeded shuffle, each layer starting where the previous one stopped, so list lengths
    differ by at most one), and the panels of a list are shuffled so layers interleave. Returns the panels
    with columns ``list`` and ``position`` (0-based), sorted by list and position.
    """
    if not {"layer", "unit"} <= set(panels.columns):
        raise ValueError(f"panels needs the columns layer and unit; got {list(panels.columns)}")
    if n_lists < 1:
        raise ValueError(f"n_lists must be >= 1; got {n_lists}")
    if panels.duplicated(["layer", "unit"]).any():
        raise ValueError("panels lists some (layer, unit) more than once")
    rng = np.random.default_rng(seed)
    parts, offset = [], 0
    for layer in sorted(panels["layer"].unique()):
        part = panels[panels["layer"] == layer]
        part = part.iloc[rng.permutation(len(part))].copy()
        part["list"] = (offset + np.arange(len(part))) % n_lists
        offset = (offset + len(part)) % n_lists
        parts.append(part)
    dealt = pd.concat(parts, ignore_index=True)
    dealt["position"] = -1
    for idx in dealt.groupby("list").groups.values():
        dealt.loc[idx, "position"] = rng.permutation(len(idx))
    dealt["position"] = dealt["position"].astype(int)
    return dealt.sort_values(["list", "position"], ignore_index=True)


def rater_order(plan: pd.DataFrame, rater_index: int) -> pd.DataFrame:
    """The panels rater number ``rater_index`` sees, in order.

    Raters are dealt to lists in turn (rater i gets list i mod L); the j-th rater of a list (j = i div L) sees
    it rotated by j * (n // 5) positions (about five starting points, as the paper had 5-6 raters per list)
    and, for odd j, reversed, so no panel is always early or always late in a session.
    """
    if rater_index < 0:
        raise ValueError(f"rater_index must be >= 0; got {rater_index}")
    n_lists = int(plan["list"].max()) + 1
    lst, j = rater_index % n_lists, rater_index // n_lists
    rows = plan[plan["list"] == lst].sort_values("position", ignore_index=True)
    n = len(rows)
    shift = (j * max(1, n // 5)) % max(n, 1)  # about five distinct starting points per list
    order = np.roll(np.arange(n), -shift)
    if j % 2 == 1:
        order = order[::-1]
    return rows.iloc[order].reset_index(drop=True)
