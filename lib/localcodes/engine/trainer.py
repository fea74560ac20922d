"""Training R networks as one batched ensemble: the step maths (manual forward and backward, masked SGD/Adam
updates), the epochs, the per-network stopping rules, measuring at checkpoints, saving and resuming a long run
(:class:`Trainer`), and :func:`train`, which runs it and returns a :class:`TrainResult`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..store import atomic_path, device_name, pick_device, progress_bar
from .config import TrainConfig
from .data import Dataset, DeviceData
from .ensemble import Ensemble, activate, init_weights, output
from .graphs import EpochGraph, use_graphs
from .measures import evaluate
from .streams import network_generators

__all__ = ["TrainResult", "Trainer", "train"]


@dataclass
class TrainResult:
    """What :func:`train` returns: the trained ``ensemble``, ``history`` (one row per network per checkpoint,
    ``final`` marks each network's last row), the per-network ``configs`` and the ``wall_s`` of the run."""

    ensemble: Ensemble
    history: pd.DataFrame
    configs: list[TrainConfig]
    wall_s: float
    device: str

    @property
    def final(self) -> pd.DataFrame:
        """Each network's last row."""
        return self.history[self.history["final"]].reset_index(drop=True)


def _per_network(configs: list[TrainConfig], name: str, device, dtype=torch.float32) -> torch.Tensor:
    return torch.tensor([getattr(c, name) for c in configs], device=device, dtype=dtype)


def _check_configs(configs: list[TrainConfig]) -> None:
    first = configs[0].structure()
    for i, c in enumerate(configs[1:], 1):
        diff = {k for k, v in c.structure().items() if first[k] != v}
        if diff:
            raise ValueError(
                f"the networks of one ensemble must share {sorted(first)}; network {i} differs in "
                f"{sorted(diff)} (train them in separate calls, or use sweep())"
            )


class Trainer:
    """The batched training loop (manual forward/backward, masked optimiser updates) of the networks
    ``configs`` (which share a structure) on ``data``, on ``device``.

    :func:`train` builds one and calls :meth:`run`; benchmarks drive it an epoch at a time with
    :meth:`run_epoch` and :meth:`measure`. An epoch is :meth:`prepare_epoch` (data order and state into fixed
    buffers), :meth:`epoch_body` (the steps, reading only those buffers and the dropout/noise draws) and
    :meth:`end_epoch` (step and epoch counters): that split is what a CUDA graph captures and replays.
    """

    def __init__(
        self,
        data: Dataset | Sequence[Dataset],
        configs: list[TrainConfig],
        device: torch.device,
        cuda_graphs: bool | None = None,
    ):
        self.cfg = configs[0]
        self.configs = configs
        self.R = len(configs)
        self.dev = device
        self.data = DeviceData(data, self.R, device)
        d = self.data
        if self.cfg.stop == "val_loss" and "val" not in d.sets:
            raise ValueError(
                "stop='val_loss' needs a validation set (Dataset X_val/y_val, or n_val_per_class)"
            )
        self.sizes = [d.D, *self.cfg.hidden, d.targets.shape[-1]]
        if self.cfg.softmax and self.cfg.loss_fn == "bce" and self.sizes[-1] < 2:
            raise ValueError("softmax needs at least two outputs")
        self.gens = [network_generators(c.seed, device) for c in configs]
        w, b = init_weights(configs, self.sizes, self.gens, device)
        self.ens = Ensemble(w, b, self.cfg.activation, self.cfg.softmax)
        self.params = [*w, *b]
        self.opt_state = [torch.zeros_like(p) for p in self.params]  # momentum buffer or Adam m
        self.opt_state2 = [torch.zeros_like(p) for p in self.params] if self.cfg.optimizer == "adam" else []
        self.adam_t = torch.zeros(self.R, device=device)
        f32 = torch.float32
        self.lr = _per_network(configs, "lr", device, f32)
        self.momentum = _per_network(configs, "momentum", device, f32)
        self.p_drop = _per_network(configs, "dropout", device, f32)
        self.noise_std = _per_network(configs, "noise_std", device, f32)
        self.noise_mean = _per_network(configs, "noise_mean", device, f32) * (self.noise_std > 0)
        self.max_epochs = np.array([c.epochs for c in configs])
        big = np.iinfo(np.int64).max
        self.max_steps_np = np.array([big if c.max_steps is None else c.max_steps for c in configs])
        self.max_steps = torch.as_tensor(self.max_steps_np, device=device)
        self.use_dropout = bool((self.p_drop > 0).any())
        self.use_momentum = bool((self.momentum > 0).any())
        self.use_noise = bool((self.noise_std > 0).any())
        self._has_draws = self.use_dropout or self.use_noise
        # random draws in fixed chunks of steps, so a network's stream never depends on the ensemble's size
        self.chunk_steps = max(1, 256 // self.cfg.batch_size)
        # per-network state
        self.active = np.ones(self.R, dtype=bool)
        self.step = 0
        self.steps_done = np.zeros(self.R, dtype=np.int64)
        self.epoch = 0
        self.best_val = np.full(self.R, np.inf)
        self.wait = np.zeros(self.R, dtype=np.int64)
        self.epochs_to_acc = np.full(self.R, np.nan)
        self.reason = np.array([""] * self.R, dtype=object)
        self.rows: list[dict] = []
        self.wall = 0.0
        # an epoch reads only these buffers (refilled before it), so on CUDA it can be captured once as a
        # graph and replayed: one launch per epoch instead of ~24 per step (the small networks' bottleneck)
        self.n_steps = math.ceil(d.N / self.cfg.batch_size)
        self._perms = torch.zeros(self.R, d.N, dtype=torch.int64, device=device)
        self._active_t = torch.zeros(self.R, device=device)
        self._step_t = torch.zeros((), dtype=torch.int64, device=device)
        self.graphs = use_graphs(cuda_graphs, device, self)
        self._graph = EpochGraph(self)  # starts with a warm-up epoch, also after a resume

    # -- one step ------------------------------------------------------------------------------------------
    def _draws(self, n_rows: int):
        masks, noises = [], []
        R = self.R
        for h in self.cfg.hidden:
            if self.use_dropout:
                u = torch.stack([torch.rand((n_rows, h), generator=g[2], device=self.dev) for g in self.gens])
                keep = self.p_drop[:, None, None]
                masks.append((u >= keep).to(torch.float32) / (1 - keep))
            if self.use_noise:
                e = torch.stack(
                    [torch.randn((n_rows, h), generator=g[3], device=self.dev) for g in self.gens]
                )
                noises.append(self.noise_mean.view(R, 1, 1) + self.noise_std.view(R, 1, 1) * e)
        return masks, noises

    def _step(self, idx: torch.Tensor, masks, noises, act: torch.Tensor) -> None:
        """One SGD/Adam step of each network on its batch ``idx`` (R, b); ``act`` (R,): 1 update, 0 frozen."""
        d, cfg, ens = self.data, self.cfg, self.ens
        n_h = len(cfg.hidden)
        b = idx.shape[1]
        h = d.batch(d.X, idx)
        t = d.target_rows(d.batch(d.y, idx))
        inputs, acts_, drops = [h], [], []
        for l in range(n_h):
            a = activate(torch.baddbmm(ens.biases[l], h, ens.weights[l]), cfg.activation)
            acts_.append(a)
            h = a
            if noises:
                h = h + noises[l][:, :b]
            if masks:
                m = masks[l][:, :b]
                drops.append(m)
                h = h * m
            inputs.append(h)
        z = torch.baddbmm(ens.biases[-1], h, ens.weights[-1])
        p = output(z, cfg.softmax)
        loss = cfg.loss_fn
        n_out = p.shape[-1]
        if not cfg.softmax and loss == "bce":
            dz = (p - t) / (b * n_out)
        elif cfg.softmax and loss == "ce":
            dz = (p - t) / b
        elif loss == "ce":  # sigmoid outputs, categorical cross-entropy
            dz = -t * (1 - p) / b
        else:  # softmax outputs, binary cross-entropy (Keras allows it): chain through the softmax Jacobian
            pc = p.clamp(1e-7, 1 - 1e-7)
            g = (pc - t) / (pc * (1 - pc)) / (b * n_out)
            dz = p * (g - (g * p).sum(-1, keepdim=True))
        # plain SGD: fold each network's lr (0 when frozen) into dz; baddbmm_ then updates W in place,
        # so the weight gradients are never materialised (the largest memory traffic of a step)
        # (the backward pass is linear in dz, so scaling it once scales every layer's gradient)
        fused = cfg.optimizer == "sgd" and not self.use_momentum
        if fused:
            dz = dz * (self.lr * act).view(self.R, 1, 1)
        grads_w, grads_b = [None] * (n_h + 1), [None] * (n_h + 1)
        for l in range(n_h, -1, -1):
            dh = torch.bmm(dz, ens.weights[l].transpose(1, 2)) if l > 0 else None  # before W[l] changes
            if fused:
                ens.weights[l].baddbmm_(inputs[l].transpose(1, 2), dz, alpha=-1.0)
                ens.biases[l].sub_(dz.sum(1, keepdim=True))
            else:
                grads_w[l] = torch.bmm(inputs[l].transpose(1, 2), dz)
                grads_b[l] = dz.sum(1, keepdim=True)
            if l == 0:
                break
            if drops:
                dh = dh * drops[l - 1]
            a = acts_[l - 1]
            if cfg.activation == "sigmoid":
                dz = torch.ops.aten.sigmoid_backward(dh, a)  # dh * a * (1 - a) in one kernel
            else:
                dz = torch.ops.aten.threshold_backward(dh, a, 0)  # dh * (a > 0)
        if not fused:
            self._update([*grads_w, *grads_b], act)

    def _update(self, grads: list[torch.Tensor], act: torch.Tensor) -> None:
        R = self.R
        lr = (self.lr * act).view(R, 1, 1)
        a = act.view(R, 1, 1)
        if self.cfg.optimizer == "sgd":
            mom = self.momentum.view(R, 1, 1)
            use_mom = self.use_momentum
            for p, g, buf in zip(self.params, grads, self.opt_state, strict=True):
                if use_mom:  # torch.optim.SGD: buf = momentum * buf + g; frozen networks keep their buffer
                    buf.mul_(mom * a + (1 - a)).add_(g * a)
                    p.sub_(lr * buf)
                else:
                    p.sub_(lr * g)
            return
        b1, b2, eps = 0.9, 0.999, 1e-8  # torch.optim.Adam defaults
        self.adam_t += act
        t = self.adam_t.clamp(min=1).view(R, 1, 1)
        bc1 = 1 - b1**t
        bc2 = 1 - b2**t
        for p, g, m, v in zip(self.params, grads, self.opt_state, self.opt_state2, strict=True):
            m.mul_(1 - (1 - b1) * a).add_(g * ((1 - b1) * a))
            v.mul_(1 - (1 - b2) * a).add_(g * g * ((1 - b2) * a))
            p.sub_(lr / bc1 * m / (v.sqrt() / bc2.sqrt() + eps))

    # -- one epoch -----------------------------------------------------------------------------------------
    def n_chunks(self) -> int:
        """Chunks of ``chunk_steps`` steps per epoch (random draws are made a chunk at a time)."""
        return math.ceil(self.n_steps / self.chunk_steps)

    def prepare_epoch(self) -> None:
        """This epoch's data order and the state the steps read, written into the epoch's fixed buffers."""
        d = self.data
        perms = torch.stack([torch.randperm(d.N, generator=g[1], device=self.dev) for g in self.gens])
        self._perms.copy_(perms)
        self._active_t.copy_(torch.as_tensor(self.active, device=self.dev))
        self._step_t.fill_(self.step)

    def epoch_body(self, chunk_draws: Callable[[int], tuple[list, list]]) -> None:
        """The epoch's steps, reading only fixed buffers and ``chunk_draws(c)`` (dropout masks and noise for
        chunk ``c`` of ``chunk_steps`` steps): no host synchronisation, so it can be captured as a CUDA graph."""
        B = self.cfg.batch_size
        masks, noises = [], []
        for s in range(self.n_steps):
            c, k = divmod(s, self.chunk_steps)
            if k == 0 and self._has_draws:
                masks, noises = chunk_draws(c)
            idx = self._perms[:, s * B : (s + 1) * B]
            b = idx.shape[1]
            act = self._active_t * (self._step_t < self.max_steps)
            mk = [m[:, k * B : k * B + b] for m in masks]
            nz = [n[:, k * B : k * B + b] for n in noises]
            self._step(idx, mk, nz, act)
            self._step_t += 1

    def draw_chunk(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Dropout masks and noise for the next chunk of ``chunk_steps`` steps, drawn now."""
        return self._draws(self.chunk_steps * self.cfg.batch_size)

    def predraw(self) -> list[tuple[list[torch.Tensor], list[torch.Tensor]]]:
        """All of an epoch's dropout masks and noise, chunk by chunk (each stream in the order eager draws it)."""
        rows = self.chunk_steps * self.cfg.batch_size
        return [self._draws(rows) for _ in range(self.n_chunks())] if self._has_draws else []

    def end_epoch(self) -> None:
        """Advance the step and epoch counters after an epoch's steps."""
        self.step += self.n_steps
        self.steps_done[self.active] = np.minimum(self.step, self.max_steps_np[self.active])
        self.epoch += 1

    def run_epoch(self) -> None:
        """Train every active network one epoch (eagerly, or as a CUDA graph's replay)."""
        self.prepare_epoch()
        if self.graphs:
            self.graphs = self._graph.run()
        else:
            self.epoch_body(lambda c: self.draw_chunk())
        self.end_epoch()

    # -- measuring -----------------------------------------------------------------------------------------
    def evaluate(self, which: str, nets: np.ndarray, local_codes: bool) -> dict[str, np.ndarray]:
        """Loss and accuracies of networks ``nets`` on a whole set (and local codes on the training set)."""
        return evaluate(self.data, self.ens, self.cfg, which, nets, local_codes)

    def measure(self, nets: np.ndarray, final: np.ndarray) -> None:
        """Measure networks ``nets`` now and append their rows to ``rows`` (``final``: their last row)."""
        if len(nets) == 0:
            return
        m = self.evaluate("train", nets, local_codes=True)
        for name in self.data.sets:
            m.update(self.evaluate(name, nets, local_codes=False))
        for i, r in enumerate(nets):
            acc = m["train_acc"][i]
            if np.isnan(self.epochs_to_acc[r]) and acc >= self.configs[r].acc_target:
                self.epochs_to_acc[r] = self.epoch
            row = {
                "network": int(r),
                "seed": self.configs[r].seed,
                "epoch": self.epoch,
                "step": int(self.steps_done[r]),
                "final": bool(final[i]),
                "stop_reason": self.reason[r] if final[i] else "",
                "wall_s": self.wall,
            }
            row.update({k: v[i].item() for k, v in m.items()})
            row["epochs_to_acc"] = self.epochs_to_acc[r]
            self.rows.append(row)

    def finish_epoch(self) -> np.ndarray:
        """Stopping rules after an epoch: returns the networks that stop now (their reason is set)."""
        nets = np.flatnonzero(self.active)
        stop = np.zeros(self.R, dtype=bool)
        cfg = self.cfg
        every = cfg.check_acc_every
        if every and self.epoch % every == 0:
            acc = self.evaluate("train", nets, local_codes=False)["train_acc"]
            for r, a in zip(nets, acc, strict=True):
                if a >= self.configs[r].acc_target:
                    if np.isnan(self.epochs_to_acc[r]):
                        self.epochs_to_acc[r] = self.epoch
                    if cfg.stop == "train_acc":
                        stop[r], self.reason[r] = True, "train_acc"
        if cfg.stop == "val_loss":
            vl = self.evaluate("val", nets, local_codes=False)["val_loss"]
            for r, v in zip(nets, vl, strict=True):
                if v < self.best_val[r] - self.configs[r].min_delta:
                    self.best_val[r], self.wait[r] = v, 0
                else:
                    self.wait[r] += 1
                    if self.wait[r] >= max(self.configs[r].patience, 1) and not stop[r]:
                        stop[r], self.reason[r] = True, "val_loss"
        max_steps = self.max_steps_np
        for r in nets:
            if not stop[r] and (self.epoch >= self.max_epochs[r] or self.steps_done[r] >= max_steps[r]):
                stop[r], self.reason[r] = True, "budget"
        return stop

    # -- state (resume a long run) -------------------------------------------------------------------------
    def state(self) -> dict:
        """Everything needed to resume the run (parameters, optimiser state, random streams, rows)."""
        keys = (
            "step",
            "steps_done",
            "epoch",
            "best_val",
            "wait",
            "epochs_to_acc",
            "reason",
            "active",
            "rows",
            "wall",
        )
        return {
            "params": [p.cpu() for p in self.params],
            "opt": [s.cpu() for s in self.opt_state],
            "opt2": [s.cpu() for s in self.opt_state2],
            "adam_t": self.adam_t.cpu(),
            "gens": [[g.get_state() for g in gs] for gs in self.gens],
            "configs": [asdict(c) for c in self.configs],
            **{k: getattr(self, k) for k in keys},
        }

    def load(self, state: dict) -> None:
        """Resume from :meth:`state` (written for the same settings)."""
        if state["configs"] != [asdict(c) for c in self.configs]:
            raise ValueError("state file was written for other settings; delete it or use another state_path")
        for dst, src in zip(self.params, state["params"], strict=True):
            dst.copy_(src)
        for dst, src in zip(self.opt_state + self.opt_state2, state["opt"] + state["opt2"], strict=True):
            dst.copy_(src)
        self.adam_t.copy_(state["adam_t"])
        for gs, ss in zip(self.gens, state["gens"], strict=True):
            for g, s in zip(gs, ss, strict=True):
                g.set_state(s)
        for k in (
            "step",
            "steps_done",
            "epoch",
            "best_val",
            "wait",
            "epochs_to_acc",
            "reason",
            "active",
            "rows",
            "wall",
        ):
            setattr(self, k, state[k])

    def run(self, progress: bool, state_path: Path | None, save_every_s: float) -> None:
        """Train until every network has stopped, measuring at checkpoints; save to and resume from
        ``state_path`` (every ``save_every_s`` seconds) if given."""
        if state_path is not None and Path(state_path).exists():
            self.load(torch.load(state_path, weights_only=False))
        cps = set(self.cfg.checkpoints)
        start = time.perf_counter() - self.wall
        last_save = time.perf_counter()
        if self.epoch == 0:
            first_stop = self.max_epochs <= 0
            self.reason[first_stop] = "budget"
            if 0 in cps or first_stop.any():
                nets = np.arange(self.R) if 0 in cps else np.flatnonzero(first_stop)
                self.measure(nets, first_stop[nets])
            self.active &= ~first_stop
        total = int(self.max_epochs.max())
        bar = progress_bar(
            total=total,
            initial=self.epoch,
            disable=not progress,
            desc=f"{self.R} nets",
            leave=False,
            mininterval=1.0,
        )
        while self.active.any():
            was_active = self.active.copy()
            self.run_epoch()
            self.wall = time.perf_counter() - start
            stop = self.finish_epoch()
            measure = was_active & (stop | (self.epoch in cps))
            nets = np.flatnonzero(measure)
            self.measure(nets, stop[nets])
            self.active &= ~stop
            bar.update(1)
            if (
                state_path is not None
                and time.perf_counter() - last_save > save_every_s
                and self.active.any()
            ):
                with atomic_path(state_path) as tmp:
                    torch.save(self.state(), tmp)
                last_save = time.perf_counter()
        bar.close()
        self.wall = time.perf_counter() - start


def train(
    data: Dataset | Sequence[Dataset],
    configs: TrainConfig | Sequence[TrainConfig],
    n_networks: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = False,
    state_path: str | Path | None = None,
    save_every_s: float = 300.0,
    cuda_graphs: bool | None = None,
) -> TrainResult:
    """Train R networks as one batched ensemble and measure them at their checkpoints and when they stop.

    ``configs``: one :class:`TrainConfig` per network, or one config and ``n_networks`` (the networks then get
    seeds ``seed, seed+1, …``). The networks must share the architecture and training algorithm (see
    ``TrainConfig.structure``); dropout, noise, lr, budgets, patience and seed may differ. ``data``: one
    Dataset for all networks or one per network (same shapes). ``state_path``: save the whole training state
    there every ``save_every_s`` seconds and resume from it if it exists (for runs of hours); it is deleted
    when the run completes. ``cuda_graphs``: on a CUDA device, each epoch after the first (a warm-up) runs as
    one captured CUDA graph (default ``None``: when its random draws fit in fixed buffers; ``False``: eager
    launches). The same seed gives the same networks either way, up to float rounding.
    """
    if isinstance(configs, TrainConfig):
        n = 1 if n_networks is None else n_networks
        if n < 1:
            raise ValueError(f"n_networks must be >= 1; got {n}")
        configs = [configs.with_(seed=configs.seed + i) for i in range(n)]
    else:
        configs = list(configs)
        if not configs:
            raise ValueError("configs is empty: give at least one TrainConfig")
        if n_networks is not None and n_networks != len(configs):
            raise ValueError(f"n_networks ({n_networks}) does not match the {len(configs)} configs given")
    _check_configs(configs)
    dev = pick_device(None if device is None else str(device))
    trainer = Trainer(data, configs, dev, cuda_graphs)
    state_path = None if state_path is None else Path(state_path)
    trainer.run(progress, state_path, save_every_s)
    if state_path is not None and state_path.exists():
        state_path.unlink()
    history = pd.DataFrame(trainer.rows)
    history = history.sort_values(["network", "epoch", "final"], kind="stable").reset_index(drop=True)
    return TrainResult(trainer.ens, history, configs, trainer.wall, device_name(dev))

