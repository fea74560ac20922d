"""Epochs on a GPU as CUDA graphs, and CUDA streams for ensembles trained at once.

Small ensembles are bound by kernel launches (~24 per optimiser step), not arithmetic. So on a CUDA device each
epoch after the first (a warm-up on a side stream) is captured once as a CUDA graph and replayed: one launch per
epoch. An epoch reads only fixed buffers (the data order, the active networks, the step counter and the epoch's
dropout and noise draws, refilled before each replay), so the replay computes what eager launches compute, up to
float rounding. :func:`own_stream` gives each concurrently trained ensemble a CUDA stream of its own.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # type hints only: the trainer imports this module
    from .trainer import Trainer

__all__ = ["CAPTURE_LOCK", "use_graphs", "EpochGraph", "own_stream"]

#: one capture at a time (torch.cuda.graph synchronises the device and empties the cache on entry)
CAPTURE_LOCK = threading.Lock()

#: the most memory an epoch's fixed dropout/noise buffers may take
MAX_DRAW_BYTES = 2**30


def use_graphs(cuda_graphs: bool | None, device: torch.device, trainer: Trainer) -> bool:
    """Whether to replay epochs as CUDA graphs: ``None`` = on CUDA when the epoch's random draws (kept in
    fixed buffers for the graph) fit in 1 GiB; ``True`` insists (error if impossible); ``False`` = eager."""
    if cuda_graphs not in (None, True, False):
        raise ValueError(f"cuda_graphs must be None (auto), True or False; got {cuda_graphs!r}")
    if cuda_graphs is False:
        return False
    if device.type != "cuda":
        if cuda_graphs:
            raise ValueError(f"cuda_graphs=True needs a CUDA device; the ensemble is on {device.type}")
        return False
    t = trainer
    per_draw = int(t.use_dropout) + int(t.use_noise)
    n_bytes = 4 * per_draw * t.R * t.n_chunks() * t.chunk_steps * t.cfg.batch_size * sum(t.cfg.hidden)
    if n_bytes > MAX_DRAW_BYTES:
        if cuda_graphs:
            raise ValueError(
                f"cuda_graphs=True: one epoch's dropout/noise draws need {n_bytes / 2**30:.1f} GiB of fixed "
                "buffers (limit 1 GiB); use cuda_graphs=None or False, or fewer networks per ensemble"
            )
        return False
    return True


class EpochGraph:
    """A trainer's epoch as a CUDA graph: the first epoch warms up on a side stream (cuBLAS workspaces etc.;
    also after a resume), the second is captured and run, every later one refills the draw buffers and replays.
    """

    def __init__(self, trainer: Trainer):
        self.trainer = trainer
        self.graph: torch.cuda.CUDAGraph | None = None
        self.draws: list[tuple[list[torch.Tensor], list[torch.Tensor]]] = []
        self.warm = False

    def run(self) -> bool:
        """Run the trainer's prepared epoch; False when capture failed (the epoch then ran eagerly and the
        trainer should stay eager)."""
        t = self.trainer
        if self.graph is not None:
            for (masks, noises), (new_m, new_n) in zip(self.draws, t.predraw(), strict=True):
                for dst, src in zip(masks + noises, new_m + new_n, strict=True):
                    dst.copy_(src)
            self.graph.replay()
            return True
        if not self.warm:
            side = torch.cuda.Stream(t.dev)
            side.wait_stream(torch.cuda.current_stream(t.dev))
            with torch.cuda.stream(side):
                t.epoch_body(lambda c: t.draw_chunk())
            torch.cuda.current_stream(t.dev).wait_stream(side)
            self.warm = True
            return True
        return self._capture_and_run()

    def _capture_and_run(self) -> bool:
        """Capture one epoch as a CUDA graph and run it; on failure warn and run the epoch eagerly."""
        t = self.trainer
        draws = t.predraw()
        graph = torch.cuda.CUDAGraph()
        try:
            # thread-local capture lets ensembles on other threads keep launching meanwhile (sweep(concurrent=))
            with CAPTURE_LOCK, torch.cuda.graph(graph, capture_error_mode="thread_local"):
                t.epoch_body(lambda c: draws[c])  # records only: nothing runs until replay()
        except RuntimeError as err:
            warnings.warn(
                f"CUDA graph capture failed ({err}); training this ensemble without graphs", stacklevel=3
            )
            t.epoch_body(lambda c: draws[c])
            return False
        self.graph, self.draws = graph, draws
        graph.replay()
        return True


def own_stream(dev: torch.device) -> contextlib.AbstractContextManager:
    """A context that makes a new CUDA stream current (for concurrent ensembles); a no-op off CUDA."""
    return torch.cuda.stream(torch.cuda.Stream(dev)) if dev.type == "cuda" else contextlib.nullcontext()
