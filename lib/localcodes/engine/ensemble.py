"""The parameters of R MLPs held as stacked tensors (:class:`Ensemble`), their initialisation and their
forward pass."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..store import pick_device
from .config import TrainConfig

__all__ = ["Ensemble", "activate", "output", "init_weights"]


@dataclass
class Ensemble:
    """The parameters of R MLPs: ``weights[l]`` (R, in, out) and ``biases[l]`` (R, 1, out), layer by layer.

    ``hidden(X)`` gives every hidden layer's activations of every network (no dropout, no noise); ``forward``
    the outputs. Inputs ``X`` may be (N, D) (the same for every network) or (R, N, D).
    """

    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    activation: str = "sigmoid"
    softmax: bool = False

    @property
    def n_networks(self) -> int:
        return int(self.weights[0].shape[0])

    @property
    def device(self) -> torch.device:
        return self.weights[0].device

    @property
    def sizes(self) -> list[int]:
        return [int(self.weights[0].shape[1])] + [int(w.shape[2]) for w in self.weights]

    def member(self, r: int | Sequence[int]) -> Ensemble:
        """Network(s) ``r`` as an ensemble of their own (views, no copy)."""
        idx = [r] if isinstance(r, (int, np.integer)) else list(r)
        sel = torch.as_tensor(idx, device=self.device)
        return Ensemble(
            [w[sel] for w in self.weights], [b[sel] for b in self.biases], self.activation, self.softmax
        )

    def _inputs(self, X) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X)
        x = x.to(self.device, torch.float32)
        if x.ndim == 2:
            x = x.unsqueeze(0).expand(self.n_networks, -1, -1)
        if x.ndim != 3 or x.shape[0] != self.n_networks or x.shape[2] != self.sizes[0]:
            raise ValueError(
                f"X must be (N, {self.sizes[0]}) or ({self.n_networks}, N, {self.sizes[0]}); "
                f"got {tuple(x.shape)}"
            )
        return x

    @torch.no_grad()
    def hidden(self, X, layer: int | None = None) -> torch.Tensor | list[torch.Tensor]:
        """Hidden activations (R, N, U) of hidden ``layer`` (0 = first), or a list of all layers if None."""
        h = self._inputs(X)
        outs = []
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            h = activate(torch.baddbmm(b, h, w), self.activation)
            outs.append(h)
        if layer is None:
            return outs
        if not -len(outs) <= layer < len(outs):
            raise ValueError(f"layer must be in 0..{len(outs) - 1}; got {layer}")
        return outs[layer]

    @torch.no_grad()
    def forward(self, X) -> torch.Tensor:
        """Outputs (R, N, O) after the sigmoid or softmax (no dropout, no noise)."""
        h = self._inputs(X)
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            h = activate(torch.baddbmm(b, h, w), self.activation)
        return output(torch.baddbmm(self.biases[-1], h, self.weights[-1]), self.softmax)

    def state_dict(self) -> dict:
        return {
            "weights": [w.cpu() for w in self.weights],
            "biases": [b.cpu() for b in self.biases],
            "activation": self.activation,
            "softmax": self.softmax,
        }

    @classmethod
    def from_state(cls, state: dict, device=None) -> Ensemble:
        dev = pick_device(None if device is None else str(device))
        return cls(
            [w.to(dev) for w in state["weights"]],
            [b.to(dev) for b in state["biases"]],
            state["activation"],
            state["softmax"],
        )


def activate(z: torch.Tensor, activation: str) -> torch.Tensor:
    """The hidden layers' nonlinearity."""
    return torch.sigmoid(z) if activation == "sigmoid" else torch.relu(z)


def output(z: torch.Tensor, softmax: bool) -> torch.Tensor:
    """The output layer's nonlinearity."""
    return torch.softmax(z, dim=-1) if softmax else torch.sigmoid(z)


def init_weights(
    configs: list[TrainConfig], sizes: list[int], gens: list[list[torch.Generator]], device
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per-network init from each network's own init stream: U(-a, a) or Glorot-uniform; biases zero."""
    weights, biases = [], []
    for fan_in, fan_out in itertools.pairwise(sizes):
        ws = []
        for cfg, g in zip(configs, gens, strict=True):  # once per layer per network, at the start
            a = cfg.init_range if cfg.init == "uniform" else math.sqrt(6.0 / (fan_in + fan_out))
            ws.append(torch.rand((fan_in, fan_out), generator=g[0], device=device) * (2 * a) - a)
        weights.append(torch.stack(ws))
        biases.append(torch.zeros(len(configs), 1, fan_out, device=device))
    return weights, biases

