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
