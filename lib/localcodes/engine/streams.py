"""Randomness: every network owns four ``torch.Generator`` streams derived from its seed (weight init, data
order, dropout, noise), so its numbers do not depend on which other networks share its ensemble."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["STREAMS", "derive_seed", "network_generators"]

#: the streams of one network, in the order of :func:`network_generators`
STREAMS = ("init", "order", "dropout", "noise")


def derive_seed(seed: int, stream: int) -> int:
    """An independent 63-bit seed for ``stream`` of ``seed`` (numpy SeedSequence)."""
    state = np.random.SeedSequence([int(seed), int(stream)]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def network_generators(seed: int, device: torch.device) -> list[torch.Generator]:
    """The four generators of the network with ``seed`` on ``device`` (init, data order, dropout, noise)."""
    gens = []
    for stream in range(len(STREAMS)):
        g = torch.Generator(device=device)
        g.manual_seed(derive_seed(seed, 100 + stream))
        gens.append(g)
    return gens
