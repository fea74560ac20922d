"""``localcodes bench train`` and the run-time projections: the benchmark runs and refuses bad options, the
estimate probes every ensemble shape, the analytic projections behave as their model says, and the step's
kernel count they assume is what a step of the engine dispatches."""

import pytest
import torch
from localcodes import engine
from localcodes.bench import train as bench_train
from torch.utils._python_dispatch import TorchDispatchMode  # torch's only home of the dispatch-mode hook

SMALL = dict(
    n_classes=4, length=40, n_per_class=10, output_length=10, hidden=[8], lr=1.0, epochs=3, checkpoints=[0, 3]
)


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def small():
    return engine.code_data(
        n_classes=4,
        length=40,
        n_per_class=12,
        n_test_per_class=20,
        n_val_per_class=10,
        output_length=10,
        seed=0,
    )


def test_runtime_estimate_and_projection():
    est = bench_train.estimate_runtime(
        {"hidden": [[8], [16]]}, repeats=3, base={**SMALL, "epochs": 100}, probe_epochs=1
    )
    assert len(est) == 2 and (est.est_s > 0).all() and (est.networks == 3).all()
    small = bench_train.project_runtime([250], epochs=100)
    big = bench_train.project_runtime([250], epochs=1000)
    assert big["seconds"] == pytest.approx(10 * small["seconds"])
    # arithmetic-bound (slow device): wider networks cost more; launch-bound (tiny nets): the op count decides
    slow = dict(networks=10, flops_per_s=1e9)
    project = bench_train.project_runtime
    assert project([5000], **slow)["seconds"] > project([100], **slow)["seconds"]
    fast = dict(networks=1, flops_per_s=1e15)
    assert project([20], **fast)["seconds"] == project([40], **fast)["seconds"]
    assert project([20, 20], **fast)["seconds"] > project([40], **fast)["seconds"]


def test_bench_runs(capsys):
    out_dict = bench_train.bench_main(
        [
            "--networks",
            "2",
            "--input",
            "20",
            "--hidden",
            "8",
            "--output",
            "10",
            "--examples",
            "40",
            "--epochs",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert "ratio" in out and "network-epochs/s" in out
    assert out_dict["networks"] == 2 and out_dict["ratio"] > 0
    with pytest.raises(ValueError, match="epochs"):
        bench_train.bench_main(["--epochs", "0"])
    with pytest.raises(ValueError, match="exp1"):
        bench_train.bench_main(["--exp1", "-1"])  # refused before anything is measured


def test_projection_with_cuda_graphs():
    eager = bench_train.project_runtime([100])
    graphs = bench_train.project_runtime([100], cuda_graphs=True)
    assert graphs["seconds"] < eager["seconds"]  # small networks: launch-bound without graphs
    # with graphs the arithmetic adds to the kernels' floor, so a bigger layer always costs more
    assert bench_train.project_runtime([5000], cuda_graphs=True)["seconds"] > graphs["seconds"]
    assert eager["steps"] == 16 * 45_000 and graphs["minutes"] == pytest.approx(graphs["seconds"] / 60)


def test_concurrent_projection_is_bounded_by_arithmetic_and_the_longest():
    sizes = [[100], [5000]]
    both = bench_train.project_concurrent(sizes)
    alone = [bench_train.project_runtime(h, cuda_graphs=True) for h in sizes]
    assert both["seconds"] >= max(a["seconds"] for a in alone)
    assert both["seconds"] < sum(a["seconds"] for a in alone)
    slow = bench_train.project_concurrent(sizes, flops_per_s=1e11)  # arithmetic-bound
    assert slow["seconds"] == pytest.approx(sum(a["flops"] for a in alone) / 1e11)


def _dispatched_ops(fn) -> list[str]:
    """The operators ``fn`` dispatches that compute (views and allocations launch no kernel)."""
    ops: list[str] = []

    class Count(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = func.overloadpacket.__name__
            if not func.is_view and not name.startswith(("empty", "lift_fresh", "detach", "_unsafe_view")):
                ops.append(name)
            return func(*args, **(kwargs or {}))

    with Count():
        fn()
    return ops


@pytest.mark.parametrize("hidden", [(16,), (12, 8)])
def test_kernel_count_of_a_step_matches_the_projection(small, hidden):
    cfg = engine.TrainConfig(hidden=hidden, lr=0.5, epochs=1, batch_size=8)
    tr = engine.Trainer(small, [cfg.with_(seed=i) for i in range(3)], torch.device("cpu"))
    tr.prepare_epoch()
    ops = _dispatched_ops(lambda: tr.epoch_body(lambda c: ([], [])))
    assert len(ops) / tr.n_steps == bench_train.kernels_per_step(len(hidden) + 1), ops[: len(ops) // tr.n_steps]
