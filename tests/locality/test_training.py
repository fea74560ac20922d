"""Training a stack: reproducible, resumable, learning; options checked."""

from __future__ import annotations

import pytest
import torch
from localcodes import locality as L


def test_train_stack_is_reproducible_resumable_and_learns(tmp_path):
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 12, generator=g) * 3
    y = torch.arange(4).repeat(50)
    x = centres[y] + torch.randn(200, 12, generator=g)
    members = L.members_table(["control", "linear"], [0, 1])

    def fresh():
        return L.HeadStack(
            [
                L.seeded(int(r.seed), lambda r=r: L.Head(12, 16, 4, L.arm_decay(r.decay), 0.2))
                for r in members.itertuples()
            ]
        )

    kw = dict(batch_size=32, lr=0.05, momentum=0.5, weight_decay=0.01, progress=False)
    a, b, c = fresh(), fresh(), fresh()
    L.train_stack(a, x, y, list(members["seed"]), epochs=2, **kw)
    L.train_stack(b, x, y, list(members["seed"]), epochs=2, **kw)
    ckpt = tmp_path / "ckpt.pt"
    L.train_stack(c, x, y, list(members["seed"]), epochs=1, checkpoint=ckpt, **kw)
    c2 = fresh()
    hist = L.train_stack(c2, x, y, list(members["seed"]), epochs=2, checkpoint=ckpt, **kw)
    assert len(hist) == 2
    for p, q, r in zip(
        a.state_dict().values(), b.state_dict().values(), c2.state_dict().values(), strict=True
    ):
        assert torch.equal(p, q)
        assert torch.allclose(p, r, atol=1e-6)
    ev = L.evaluate_stack(a, x, y)
    assert (ev["accuracy"] > 0.6).all()  # four well-separated clusters: far above chance (0.25)
    assert ev["lp_out"].shape == (200, 4, 16) and (ev["lp_out"] >= 0).all()

def test_stack_options_are_checked():
    with pytest.raises(ValueError, match="arms must be among"):
        L.members_table(["control", "cubic"], [0])
    stack = L.HeadStack([L.Head(4, 4, 2, None)])
    with pytest.raises(ValueError, match="optimizer must be one of"):
        L.train_stack(stack, torch.randn(8, 4), torch.zeros(8, dtype=torch.long), [0], optimizer="adagrad")
    with pytest.raises(ValueError, match="one seed per member"):
        L.train_stack(stack, torch.randn(8, 4), torch.zeros(8, dtype=torch.long), [0, 1])


def test_adam_trains_a_stack_like_its_members_one_by_one():
    heads = [L.seeded(s, lambda d=d: L.Head(4, 4, 2, d, dropout=0.0)) for s, d in enumerate([None, "linear"])]
    stack = L.HeadStack(heads)
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    L.train_stack(stack, x, y, [0, 0], epochs=1, batch_size=8, lr=1e-2, weight_decay=1e-4, optimizer="adam",
                  progress=False)
    for i, head in enumerate(heads):
        alone = L.HeadStack([head])
        L.train_stack(alone, x, y, [0], epochs=1, batch_size=8, lr=1e-2, weight_decay=1e-4, optimizer="adam",
                      progress=False)
        for (name, p), q in zip(alone.member(0).state_dict().items(), stack.member(i).state_dict().values(),
                                strict=True):
            if name == "lp.bias":  # BatchNorm follows: its true gradient is 0, and Adam scales rounding noise up
                continue
            assert torch.allclose(p.float(), q.float(), atol=1e-5), name
