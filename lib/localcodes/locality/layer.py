"""The locality prior layer: a wiring cost for a fully connected layer whose units sit on a grid.

K units sit on a grid (a √K × √K sheet, or a line of K units). The prior ``P_ij = 1 / f(1 + d_ij)`` — d the
Euclidean distance between units i and j on the grid, f the identity (``linear``, the Locality Prior README's
choice), ``sqrt`` or ``square`` — *masks* the weights: ``y = (W ⊙ P) x + b``. (That README writes ``A = P .* (Wx +
b)``, which is not what its code does: the code multiplies the weights, and the bias is not masked.) A signal
sent over a long wire arrives weakened, so the same effective connection needs a larger W; weight decay on W
then makes long connections expensive. ``LocalityPrior(l1=λ)`` adds the optional L1 cost ``λ Σ|W ⊙ P|``; on the
*effective* weights it costs every connection the same. ``StackedLinear`` holds M such layers (or plain linear
ones) as one batched computation.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DECAYS", "grid_side", "grid_coords", "grid_distance", "grid_prior", "LocalityPrior", "StackedLinear",
           "wiring_penalty"]

# f in P = 1 / f(1 + d)
DECAYS = {"linear": lambda r: r, "sqrt": torch.sqrt, "square": torch.square}


def _check_ndim(ndim: int) -> None:
    if ndim not in (1, 2):
        raise ValueError(f"ndim must be 1 (a line of units) or 2 (a square sheet); got {ndim!r}")


def grid_side(features: int, ndim: int = 2) -> int:
    """The grid's side for ``features`` units: √features on a 2-D sheet (must be a square number), else
    features."""
    _check_ndim(ndim)
    if not isinstance(features, (int, np.integer)) or isinstance(features, bool) or features < 1:
        raise ValueError(f"features must be a positive integer; got {features!r}")
    if ndim == 1:
        return int(features)
    side = math.isqrt(int(features))
    if side * side != features:
        lo, hi = side * side, (side + 1) ** 2
        raise ValueError(
            f"features must be a square number to lie on a √K × √K grid (ndim=2); got {features} "
            f"(the nearest squares are {lo} = {side}² and {hi} = {side + 1}²), or use ndim=1 for a line"
        )
    return side


def grid_coords(side: int, ndim: int = 2, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(side**ndim, ndim) positions of the units, row-major: unit k sits at (k // side, k % side) on a
    sheet."""
    _check_ndim(ndim)
    if not isinstance(side, (int, np.integer)) or isinstance(side, bool) or side < 1:
        raise ValueError(f"side must be a positive integer; got {side!r}")
    axis = torch.arange(side, dtype=dtype)
    if ndim == 1:
        return axis[:, None]
    rows, cols = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([rows.reshape(-1), cols.reshape(-1)], dim=1)


def grid_distance(side: int, ndim: int = 2, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(K, K) Euclidean distances between the units of a side × side sheet (ndim=2) or a line of side
    units."""
    xy = grid_coords(side, ndim, torch.float64)
    return torch.cdist(xy, xy).to(dtype)


def grid_prior(
    side: int, decay: str = "linear", ndim: int = 2, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """The locality prior ``P_ij = 1 / f(1 + d_ij)`` on a grid: (side², side²) for a sheet, (side, side) for a
    line.

    ``decay`` picks f: ``linear`` (f(r) = r, the README's choice), ``sqrt`` or ``square``. P is symmetric, 1
    on the diagonal and in (0, 1] everywhere; it is not normalised (the README's code left normalisation out
    and put BatchNorm after the layer instead)."""
    if decay not in DECAYS:
        raise ValueError(f"decay must be one of {tuple(DECAYS)}; got {decay!r}")
    d = grid_distance(side, ndim, torch.float64)
    return (1.0 / DECAYS[decay](1.0 + d)).to(dtype)


class LocalityPrior(nn.Linear):
    """A K → K fully connected layer whose weights are masked by the locality prior: ``y = (W ⊙ P) x + b``.

    ``features`` K must be a square number for the 2-D sheet (``ndim=2``, default); ``ndim=1`` puts the units
    on a line. W and b are initialised like ``nn.Linear``; P (buffer ``prior``) is fixed, so gradients reach
    only W and b. ``l1`` > 0 switches on the optional wiring cost ``l1 · Σ|W ⊙ P|`` (``penalty()``; training
    loops add ``wiring_penalty(model)`` to the loss)."""

    def __init__(
        self,
        features: int,
        decay: str = "linear",
        ndim: int = 2,
        bias: bool = True,
        l1: float = 0.0,
        device=None,
        dtype=None,
    ) -> None:
        side = grid_side(features, ndim)
        if decay not in DECAYS:
            raise ValueError(f"decay must be one of {tuple(DECAYS)}; got {decay!r}")
        if l1 < 0:
            raise ValueError(f"l1 must be >= 0; got {l1}")
        super().__init__(features, features, bias=bias, device=device, dtype=dtype)
        self.decay, self.ndim, self.side, self.l1 = decay, ndim, side, float(l1)
        factory = {"device": device, "dtype": dtype or torch.get_default_dtype()}
        self.register_buffer("prior", grid_prior(side, decay, ndim).to(**factory))
        self.register_buffer("distance", grid_distance(side, ndim).to(**factory))

    @property
    def masked_weight(self) -> torch.Tensor:
        """The effective weights W ⊙ P (what the layer applies)."""
        return self.weight * self.prior

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.masked_weight, self.bias)

    def wiring_cost(self) -> torch.Tensor:
        """Σ|W ⊙ P| (the L1 wiring cost, without its coefficient)."""
        return self.masked_weight.abs().sum()

    def wiring_length(self) -> torch.Tensor:
        """Σ|W ⊙ P|·d: the effective connection strengths times the lengths of their wires."""
        return (self.masked_weight.abs() * self.distance).sum()

    def penalty(self) -> torch.Tensor:
        """``l1 · Σ|W ⊙ P|`` (zero when l1 = 0)."""
        return self.l1 * self.wiring_cost()

    def extra_repr(self) -> str:
        grid = f"{self.side}x{self.side}" if self.ndim == 2 else f"line of {self.side}"
        has_bias = self.bias is not None
        return f"features={self.in_features}, grid={grid}, decay={self.decay}, l1={self.l1}, bias={has_bias}"


def wiring_penalty(model: nn.Module) -> torch.Tensor:
    """The sum of every ``LocalityPrior`` layer's (and stack's) L1 wiring penalty in ``model``."""
    total = None
    for m in model.modules():
        if isinstance(m, (LocalityPrior, StackedLinear)) and hasattr(m, "penalty"):
            p = m.penalty()
            total = p if total is None else total + p
    if total is None:
        return torch.zeros(())
    return total


class StackedLinear(nn.Module):
    """M independent linear layers applied to (B, M, in) at once; ``mask`` (M, out, in) multiplies the weights
    (ones for plain linear members, P for locality-prior members); ``l1`` (M,) their wiring-cost
    coefficients."""

    def __init__(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor,
        mask: torch.Tensor | None = None,
        l1: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone())
        self.bias = nn.Parameter(bias.detach().clone())
        if mask is not None:
            self.register_buffer("mask", mask.detach().clone().to(weight.dtype))
            self.register_buffer(
                "l1", (l1 if l1 is not None else torch.zeros(weight.shape[0])).to(weight.dtype)
            )

    @property
    def masked_weight(self) -> torch.Tensor:
        return self.weight * self.mask if hasattr(self, "mask") else self.weight

    def forward(self, h: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        w = self.masked_weight if weight is None else weight
        return torch.einsum("bmi,moi->bmo", h, w) + self.bias

    def penalty(self) -> torch.Tensor:
        if not hasattr(self, "mask"):
            return self.weight.new_zeros(())
        return (self.l1 * self.masked_weight.abs().sum(dim=(1, 2))).sum()
