"""Sweeps: a grid of conditions × repeats trained as few ensembles as possible (whatever can share one), in
this process (one ensemble after another, or several at once on their own CUDA streams) or on a
``dask.distributed`` scheduler, each finished ensemble written as one Parquet part of a
:class:`localcodes.store.ResultsStore`, so a killed sweep resumes and recomputes nothing already stored.

A stored network is matched on its data function (``data_fn`` column, :func:`data_identity`), its settings
(``condition``) and its ``repeat``; sweeps running at once on one store claim each network before training it,
so none is trained or stored twice."""

from __future__ import annotations

import functools
import hashlib
import inspect
import itertools
import json
import os
import time
import types
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import as_completed as futures_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..store import ResultsStore, git_commit, key, pick_device, progress_bar
from .config import PER_NETWORK, TRAIN_KEYS, TrainConfig
from .data import Dataset, code_data
from .graphs import own_stream
from .trainer import train

__all__ = [
    "AUTO_CONCURRENT_CUDA",
    "SweepTask",
    "expand_grid",
    "sweep_tasks",
    "split_params",
    "group_tasks",
    "auto_max_networks",
    "data_identity",
    "sweep",
    "DASK_ENV",
    "use_dask",
]

#: Environment variable naming a dask.distributed scheduler for sweeps given no ``client``: set by
#: ``localcodes run/build --dask ADDRESS`` and inherited by the chapters' kernels.
DASK_ENV = "LOCALCODES_DASK"


def expand_grid(conditions: dict | Iterable[dict]) -> list[dict]:
    """``{"a": [1, 2], "b": [3]}`` → ``[{"a": 1, "b": 3}, {"a": 2, "b": 3}]``; a list of dicts is kept."""
    if isinstance(conditions, dict):
        keys = list(conditions)
        values = [v if isinstance(v, (list, tuple)) else [v] for v in conditions.values()]
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]
    out = [dict(c) for c in conditions]
    if not out:
        raise ValueError("conditions is empty")
    return out


def _jsonable(v):
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _canonical(params: dict) -> str:
    return json.dumps({k: _jsonable(v) for k, v in sorted(params.items())}, sort_keys=True)


@dataclass(frozen=True)
class SweepTask:
    """One network of a sweep: its settings (training and data), its ``repeat`` and its ``seed``."""

    params: dict
    repeat: int
    seed: int

    @property
    def condition(self) -> str:
        """The settings as canonical JSON (the results' ``condition`` column)."""
        return _canonical(self.params)


def split_params(params: dict) -> tuple[dict, dict]:
    """Settings split into :class:`TrainConfig` fields and the rest (arguments of the data function)."""
    train_p = {k: v for k, v in params.items() if k in TRAIN_KEYS}
    data_p = {k: v for k, v in params.items() if k not in TRAIN_KEYS}
    return train_p, data_p


def data_identity(data_fn: Callable) -> str:
    """The name under which a sweep stores what ``data_fn`` made (the rows' ``data_fn`` column): its module and
    qualified name (through ``functools.lru_cache`` and other wrappers), a ``functools.partial``'s bound
    arguments and a callable object's attributes as digests. Two functions with one name (closures defined by
    one function) get one identity: give such a sweep its own ``data_key``."""
    bound = []
    fn = data_fn
    while isinstance(fn, functools.partial):
        bound.append(key({"args": list(fn.args), "keywords": fn.keywords}))
        fn = fn.func
    fn = inspect.unwrap(fn)
    state = None
    if isinstance(fn, types.MethodType):
        state, fn = getattr(fn.__self__, "__dict__", None), fn.__func__
    elif not isinstance(fn, (types.FunctionType, types.BuiltinFunctionType)):
        state, fn = getattr(fn, "__dict__", None), type(fn)
    name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
    if state:
        bound.append(key(state))
    return name + "".join(f"[{b}]" for b in reversed(bound))


@functools.cache
def _client_for(address: str):
    from distributed import Client  # optional dependency, needed only with a scheduler

    return Client(address, timeout=30)


def use_dask(address: str, timeout: float = 10.0) -> str:
    """Check that the dask scheduler at ``address`` (``tcp://host:port``) answers, then send every later sweep of
    this process and of the processes it starts (a book build's kernels) to it (``DASK_ENV``)."""
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"dask address must be a scheduler address like tcp://host:8786; got {address!r}")
    try:
        from distributed import Client
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise ValueError("--dask needs the distributed package (pip install 'dask[distributed]')") from err
    try:
        with Client(address, timeout=timeout) as client:
            address = client.scheduler.address
    except (OSError, TimeoutError) as err:
        raise ValueError(f"no dask scheduler answers at {address!r} within {timeout:g} s ({err})") from None
    os.environ[DASK_ENV] = address
    return address


def sweep_tasks(
    conditions: dict | Iterable[dict], repeats: int, base: dict | None = None, repeat_start: int = 0
) -> list[SweepTask]:
    """Every condition × repeat as a task (settings validated here, before anything runs)."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1; got {repeats}")
    tasks = []
    for cond in expand_grid(conditions):
        params = {**(base or {}), **cond}
        if "hidden" in params:
            h = params["hidden"]
            params["hidden"] = [int(h)] if isinstance(h, (int, np.integer)) else [int(x) for x in h]
        params.setdefault("seed", 0)
        TrainConfig.from_dict(split_params(params)[0])  # validate early: bad settings fail before anything runs
        for r in range(repeat_start, repeat_start + repeats):
            tasks.append(SweepTask(params, r, int(params["seed"]) + r))
    return tasks


def group_tasks(tasks: list[SweepTask]) -> dict[str, list[SweepTask]]:
    """Tasks by ensemble structure (the settings that are not per network), in order of first appearance."""
    groups: dict[str, list[SweepTask]] = {}
    for t in tasks:
        p = {k: v for k, v in t.params.items() if k not in PER_NETWORK}
        groups.setdefault(_canonical(p), []).append(t)
    return groups


def _chunks(
    tasks: list[SweepTask], max_networks: int | Callable[[SweepTask], int]
) -> list[list[SweepTask]]:
    """Tasks grouped by ensemble structure, each group cut into ensembles of at most ``max_networks``."""
    out = []
    for members in group_tasks(tasks).values():
        cap = max_networks(members[0]) if callable(max_networks) else max_networks
        for i in range(0, len(members), cap):
            out.append(members[i : i + cap])
    return out


def _run_chunk(
    tasks: list[SweepTask],
    data_fn: Callable[..., Dataset],
    device: str | None,
    progress: bool,
    state_path: str | None = None,
    cuda_graphs: bool | None = None,
) -> pd.DataFrame:
    """Train one ensemble (tasks that share a structure) and return its rows, with the parameters."""
    configs, datasets = [], []
    cache: dict[str, Dataset] = {}
    for t in tasks:
        train_p, data_p = split_params(t.params)
        train_p["seed"] = t.seed
        configs.append(TrainConfig.from_dict(train_p))
        key = _canonical({**data_p, "_seed": t.seed})
        if key not in cache:
            cache[key] = data_fn(**data_p, seed=t.seed)
        datasets.append(cache[key])
    res = train(
        datasets, configs, device=device, progress=progress, state_path=state_path, cuda_graphs=cuda_graphs
    )
    h = res.history
    meta = []
    for t in tasks:
        row = {}
        for k, v in t.params.items():
            if k == "seed":
                continue
            row[k] = json.dumps(_jsonable(v)) if isinstance(v, (list, tuple, dict)) else v
        hidden = t.params.get("hidden", list(TrainConfig().hidden))
        row.update(
            width=int(hidden[0]), depth=len(hidden), repeat=t.repeat, data_seed=t.seed, condition=t.condition
        )
        meta.append(row)
    meta_df = pd.DataFrame(meta)
    out = pd.concat(
        [meta_df.iloc[h["network"].to_numpy()].reset_index(drop=True), h.reset_index(drop=True)], axis=1
    )
    out["ensemble_size"] = len(tasks)
    out["device"] = res.device
    out["ensemble_wall_s"] = res.wall_s
    out["git_commit"] = git_commit()
    out["created"] = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    return out


def _part_key(chunk: list[SweepTask], data: str) -> str:
    # code_data's parts keep the names they had before the data was part of a network's identity (a resumed
    # ensemble finds its state file)
    prefix = "" if data == data_identity(code_data) else f"{data}\n"
    text = prefix + "\n".join(sorted(f"{t.condition}|{t.repeat}" for t in chunk))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def auto_max_networks(task: SweepTask, device: torch.device, data_fn: Callable[..., Dataset]) -> int:
    """Networks per ensemble: enough to amortise per-step overhead, few enough to fit in memory.

    Builds the task's data once to know its real sizes; counts parameters with optimiser state, a copy of the
    data per network (worst case: each repeat has its own) and the activations of one evaluation chunk.
    """
    train_p, data_p = split_params(task.params)
    data = data_fn(**data_p, seed=task.seed)
    hidden = list(TrainConfig.from_dict(train_p).hidden)
    sizes = [data.X.shape[1], *hidden, data.targets.shape[1]]
    n_params = sum(a * b for a, b in itertools.pairwise(sizes))
    n_rows = sum(len(x) for x in (data.X, data.X_test, data.X_val) if x is not None)
    per_net = 4 * (4 * n_params + n_rows * data.X.shape[1] + 2**24 // 8)
    budget = 8e9 if device.type == "cuda" else 1.5e9
    cap = 256 if device.type == "cuda" else 32
    return int(max(1, min(cap, budget // max(per_net, 1))))


#: ensembles trained at once by sweep() on a CUDA device (experiment 1 has six hidden sizes)
AUTO_CONCURRENT_CUDA = 6


def _stored(store: ResultsStore, data: str) -> set[tuple[str, int]]:
    """(condition, repeat) of the networks stored for data ``data``; rows written before sweeps recorded their
    data function were all trained on ``code_data`` (the only data of sweeps until then but chapter 20's digits,
    which recompute once), so they count as ``code_data``'s."""
    legacy = data_identity(code_data)
    return {(c, r) for d, c, r in store.done_keys(("data_fn", "condition", "repeat"))
            if (legacy if d is None or d != d else d) == data}


#: seconds between a waiting sweep's attempts to claim networks that another sweep on the store is training
CLAIM_POLL_S = 1.0


def sweep(
    conditions: dict | Iterable[dict],
    repeats: int = 1,
    store: ResultsStore | str | Path | None = None,
    *,
    base: dict | None = None,
    data_fn: Callable[..., Dataset] = code_data,
    data_key: str | None = None,
    repeat_start: int = 0,
    client=None,
    device: str | None = None,
    max_networks: int | None = None,
    progress: bool = True,
    state_dir: str | Path | None = None,
    cuda_graphs: bool | None = None,
    concurrent: int | None = None,
) -> pd.DataFrame:
    """Train every condition × repeat and return all rows (one per network per checkpoint).

    ``conditions``: a grid ``{"hidden": [[100], [500]], "n_per_class": [25, 50]}`` (every combination) or a
    list of dicts. ``base``: settings common to all (e.g. ``BOOK_DEFAULTS`` plus checkpoints). Keys that are
    :class:`TrainConfig` fields configure training; all others go to ``data_fn(**those, seed=...)`` (default
    :func:`code_data`; pass your own top-level function for other data, e.g. digits with hot pixels). Repeat
    ``r`` uses ``seed + r`` for the network and its data (so conditions are paired by repeat). ``data_fn`` is
    called once per (data settings, seed) and ensemble: cache an expensive loader (``functools.lru_cache``).
    Identical datasets are shared by the networks of an ensemble, different ones are stacked per network.
    ``data_key``: the name of the data in the store (default :func:`data_identity` of ``data_fn``).

    Networks whose conditions differ only in per-network settings (dropout, noise, lr, budgets, seed) train in
    one ensemble of at most ``max_networks`` (default: from a memory estimate). Each finished ensemble is
    written to ``store`` (a :class:`ResultsStore` or folder) as one Parquet part; on a rerun, networks already
    stored (same data, condition and repeat) are skipped. Sweeps on one store at once (a parallel book build)
    claim each network before training it and wait for the ones another sweep is training. ``client``: a
    ``dask.distributed.Client`` (or scheduler address) to run the ensembles on its workers; results come back
    and are written here. ``state_dir``: in-process only, keep each running ensemble's state there (resume
    inside very long ensembles). ``cuda_graphs``: see :func:`train`. ``concurrent``: in-process, train this
    many ensembles at once in threads, each on a CUDA stream of its own: on a GPU, small ensembles that cannot
    fill it alone (launch-bound) then overlap, e.g. experiment 1's six hidden sizes. Default ``None``: 6 on a
    CUDA device, else 1 (on a CPU threads only split the cores). The numbers do not depend on it.
    """
    if concurrent is not None and (isinstance(concurrent, bool) or not isinstance(concurrent, int) or concurrent < 1):
        raise ValueError(f"concurrent must be None (auto) or an integer >= 1; got {concurrent!r}")
    if client is None and os.environ.get(DASK_ENV):  # localcodes run/build --dask
        client = os.environ[DASK_ENV]
    if concurrent is not None and concurrent > 1 and client is not None:
        raise ValueError("concurrent > 1 runs ensembles in this process; it cannot be combined with client")
    if data_key is not None and (not isinstance(data_key, str) or not data_key):
        raise ValueError(f"data_key must be a non-empty string or None; got {data_key!r}")
    tasks = sweep_tasks(conditions, repeats, base, repeat_start)
    data = data_key or data_identity(data_fn)
    if store is not None and not isinstance(store, ResultsStore):
        store = ResultsStore(store)
    dev = pick_device(device)
    if concurrent is None:
        concurrent = AUTO_CONCURRENT_CUDA if dev.type == "cuda" and client is None else 1
    frames: list[pd.DataFrame] = []
    claims: dict[tuple[str, int], object] = {}  # (condition, repeat) → this sweep's claim on that network
    bar = progress_bar(total=len(tasks), disable=not progress, desc="networks", unit="net")

    def keep(chunk, frame):
        frame = frame.assign(data_fn=data)
        if store is not None:
            store.write_part(_part_key(chunk, data), frame)
            for t in chunk:  # stored: another sweep may now read it instead of waiting
                _release(claims.pop((t.condition, t.repeat), None))
        frames.append(frame)
        bar.update(len(chunk))

    try:
        if store is None:
            _train_chunks(tasks, data, keep, data_fn, dev, device, client, concurrent, max_networks, state_dir,
                          cuda_graphs)
        else:
            stored = _stored(store, data)
            bar.update(sum((t.condition, t.repeat) in stored for t in tasks))
            todo = [t for t in tasks if (t.condition, t.repeat) not in stored]
            while todo:
                for t in todo:
                    lock = store.claim(_claim_name(t, data))
                    if lock is not None:
                        claims[(t.condition, t.repeat)] = lock
                if not claims:  # all held by another sweep: wait for it to store them (or to die)
                    time.sleep(CLAIM_POLL_S)
                    continue
                claimed = set(claims)
                stored = _stored(store, data)  # read after claiming: another sweep may have stored some since
                for k in claimed & stored:
                    _release(claims.pop(k))
                mine = list({(t.condition, t.repeat): t for t in todo if (t.condition, t.repeat) in claims}.values())
                bar.update(len(claimed & stored))
                if mine:
                    _train_chunks(mine, data, keep, data_fn, dev, device, client, concurrent, max_networks,
                                  state_dir, cuda_graphs)
                todo = [t for t in todo if (t.condition, t.repeat) not in claimed]
    finally:
        for lock in claims.values():
            _release(lock)
        bar.close()
    if store is not None:
        everything = store.read()
        if everything.empty:
            return everything
        legacy = data_identity(code_data)
        everything["data_fn"] = everything["data_fn"].fillna(legacy) if "data_fn" in everything else legacy
        wanted = {(t.condition, t.repeat) for t in tasks}
        mask = [(c, r) in wanted and d == data for d, c, r in
                zip(everything["data_fn"], everything["condition"], everything["repeat"], strict=True)]
        return everything[mask].reset_index(drop=True)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _claim_name(task: SweepTask, data: str) -> str:
    return f"{data}|{task.condition}|{task.repeat}"


def _release(lock) -> None:
    if lock is not None and lock.is_locked:
        lock.release()


def _train_chunks(todo, data, keep, data_fn, dev, device, client, concurrent, max_networks, state_dir,
                  cuda_graphs) -> None:
    """Train ``todo`` as ensembles (in turn, in threads or on dask) and ``keep`` each as it finishes."""
    chunks = _chunks(todo, max_networks or (lambda t: auto_max_networks(t, dev, data_fn)))

    def run(chunk):
        sp = None if state_dir is None else str(Path(state_dir) / f"{_part_key(chunk, data)}.pt")
        with own_stream(dev):
            return _run_chunk(chunk, data_fn, device, False, sp, cuda_graphs)

    if client is None and concurrent == 1:
        for chunk in chunks:
            keep(chunk, run(chunk))
    elif client is None:
        with ThreadPoolExecutor(concurrent) as pool:
            futures = {pool.submit(run, chunk): chunk for chunk in chunks}
            errors = []
            for fut in futures_completed(futures):  # written here, one part at a time, as each finishes
                if fut.exception() is not None:
                    errors.append(fut.exception())  # keep the others' results before raising
                    continue
                keep(futures[fut], fut.result())
        if errors:
            raise errors[0]
    else:
        from distributed import as_completed  # optional dependency, needed only with a client

        if isinstance(client, str):
            client = _client_for(client)
        futures = {
            client.submit(_run_chunk, chunk, data_fn, device, False, None, cuda_graphs, pure=False): i
            for i, chunk in enumerate(chunks)
        }
        for fut in as_completed(futures):
            keep(chunks[futures[fut]], fut.result())
