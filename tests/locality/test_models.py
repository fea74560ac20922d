"""The networks: paired seeding, and stacks that equal their members one by one."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from localcodes import locality as L


def test_control_and_lp_of_one_seed_start_from_the_same_weights():
    a = L.seeded(3, lambda: L.LeNet(None))
    b = L.seeded(3, lambda: L.LeNet("linear"))
    c = L.seeded(4, lambda: L.LeNet("linear"))
    assert torch.equal(a.head.lp.weight, b.head.lp.weight) and torch.equal(a.conv1.weight, b.conv1.weight)
    assert not torch.equal(b.conv1.weight, c.conv1.weight)

def _nets(dropout=0.5):
    decays = [None, "linear", "sqrt"]
    return [L.seeded(s, lambda d=d: L.LeNet(d, dropout=dropout)) for s, d in enumerate(decays)]

def test_lenet_stack_matches_its_members_in_eval_mode():
    nets = _nets()
    stack = L.LeNetStack(nets).eval()
    x = torch.randn(6, 3, 1, 28, 28)
    logits, acts = stack(x, return_activations=True)
    for i, net in enumerate(nets):
        ref, ref_acts = net.eval()(x[:, i], return_activations=True)
        assert torch.allclose(logits[:, i], ref, atol=1e-5)
        assert torch.allclose(acts["lp_out"][:, i], ref_acts["lp_out"], atol=1e-5)
        back = stack.member(i).eval()
        assert torch.allclose(back(x[:, i]), ref, atol=1e-5)

def test_one_training_step_of_the_stack_equals_each_member_trained_alone():
    nets = _nets(dropout=0.0)  # no dropout: the comparison is exact up to float summation order
    stack = L.LeNetStack(nets).train()
    x = torch.randn(16, 3, 1, 28, 28)
    y = torch.randint(0, 10, (16, 3))
    opt = torch.optim.SGD(stack.parameters(), lr=0.1, momentum=0.5, weight_decay=0.01)
    out = stack(x)
    F.cross_entropy(out.reshape(-1, 10), y.reshape(-1), reduction="none").reshape(16, 3).mean(
        0
    ).sum().backward()
    opt.step()
    for i, net in enumerate(nets):
        net.train()
        o = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.5, weight_decay=0.01)
        F.cross_entropy(net(x[:, i]), y[:, i]).backward()
        o.step()
        got = stack.member(i)
        for (name, p), q in zip(net.state_dict().items(), got.state_dict().values(), strict=True):
            assert torch.allclose(p.float(), q.float(), atol=1e-5), name


def _alexnets(dropout=0.5):
    return [L.seeded(s, lambda d=d: L.AlexNetLP(d, 7, 0.0625, 16, 1, 64, 0.4, 0.3, dropout))
            for s, d in enumerate([None, "linear"])]


def test_alexnet_stack_matches_its_members_and_trains_like_them():
    nets = _alexnets(dropout=0.0)
    stack = L.AlexNetLPStack(nets)
    x = torch.randint(0, 256, (5, 2, 3, 48, 48), dtype=torch.uint8)  # resized to 64 inside
    stack.eval()
    for i, net in enumerate(nets):
        assert torch.allclose(stack(x)[:, i], net.eval()(x[:, i]), atol=1e-5)
    y = torch.randint(0, 7, (5, 2))
    stack.train()
    opt = torch.optim.SGD(stack.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    F.cross_entropy(stack(x).reshape(-1, 7), y.reshape(-1), reduction="none").reshape(5, 2).mean(0).sum().backward()
    opt.step()
    for i, net in enumerate(nets):
        net.train()
        o = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
        F.cross_entropy(net(x[:, i]), y[:, i]).backward()
        o.step()
        for (name, p), q in zip(net.state_dict().items(), stack.member(i).state_dict().values(), strict=True):
            assert torch.allclose(p.float(), q.float(), atol=1e-5), name


def test_alexnet_lp_refuses_bad_sizes():
    import pytest

    with pytest.raises(ValueError, match="input_size"):
        L.AlexNetLP(None, 10, 0.0625, 16, 1, 32)
    with pytest.raises(ValueError, match="square"):
        L.AlexNetLP(None, 10, 0.0625, 15, 1, 64)
