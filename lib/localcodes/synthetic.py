"""Synthetic units that show how the selectivity measures behave (paper 001, App. A4, and a few more)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["synthetic_units", "random_units", "A4_EXPECTED"]

# Paper 001, Fig. A4 captions: (CCMAS, precision, top-class selectivity) on 10 classes x 100 points
A4_EXPECTED = pd.DataFrame(
    {
        "ccmas": [1.0, 1.0, 0.06],
        "precision": [0.11, 1.0, 1.0],
        "top_class_selectivity": [0.01, 1.0, 1.0],
    },
    index=["A4a one active item", "A4b grandmother unit", "A4c one class 0.1 higher"],
)


def synthetic_units(
    n_classes: int = 10, n_per_class: int = 100, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Activations (N, U) of hand-made units, their labels (N,) and the units' names.

    The first three are paper 001's Fig. A4 cases (noise-free, so the measures come out exactly as captioned);
    the rest add an off-unit, a high-precision unit with an exponential tail (like fc6.1199), a unit with negative
    activations (CCMAS above 1), a distributed unit with overlapping classes and a dead unit.
    """
    if n_classes < 3:
        raise ValueError(f"n_classes must be at least 3; got {n_classes}")
    if n_per_class < 2:
        raise ValueError(f"n_per_class must be at least 2; got {n_per_class}")
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    n = len(y)
    target = y == 0
    units: dict[str, np.ndarray] = {}

    one = np.zeros(n)
    one[0] = 1.0
    units["A4a one active item"] = one
    units["A4b grandmother unit"] = target.astype(float)
    units["A4c one class 0.1 higher"] = np.where(target, 0.9, 0.8)
    units["off unit (silent for one class)"] = np.where(target, 0.0, 0.5 + 0.5 * rng.random(n))
    # mostly silent; when active, exponential; class 0 is active more often and more strongly
    active = rng.random(n) < np.where(target, 0.9, 0.15)
    units["high precision, not local"] = active * rng.exponential(np.where(target, 4.0, 1.5), n)
    units["negative activations"] = np.where(target, 1.0, -0.5) + 0.05 * rng.standard_normal(n)
    units["distributed (overlapping classes)"] = rng.normal(y / n_classes, 0.3)
    units["dead unit"] = np.zeros(n)
    return np.stack(list(units.values()), axis=1), y, list(units)


def random_units(
    n_units: int = 300, n_classes: int = 10, n_per_class: int = 100, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """A population of units between "distributed" and "grandmother cell", to compare measures across units.

    Each unit has a preferred class that is active with probability ``p_on`` and strength ``shift``; the other
    classes are active with probability ``p_off``; active values are exponential (as paper 001 found for AlexNet's
    non-zero activations). Returns activations (N, U), labels (N,) and the per-unit generating parameters.
    """
    if n_units < 1:
        raise ValueError(f"n_units must be positive; got {n_units}")
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    pref = rng.integers(0, n_classes, n_units)
    p_off = rng.uniform(0.02, 0.6, n_units)
    p_on = np.clip(p_off + rng.uniform(0, 1, n_units), 0, 1)
    shift = rng.exponential(2.0, n_units)
    is_pref = y[:, None] == pref[None, :]
    active = rng.random((len(y), n_units)) < np.where(is_pref, p_on, p_off)
    acts = active * (rng.exponential(1.0, (len(y), n_units)) + np.where(is_pref, shift, 0.0))
    params = pd.DataFrame({"preferred": pref, "p_on": p_on, "p_off": p_off, "shift": shift})
    return acts, y, params
