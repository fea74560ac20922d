"""Robustness transforms and penalties."""

from __future__ import annotations

import pytest
import torch
from localcodes import am
from localcodes.am.transforms import pairwise_similarity


def test_random_transform_identity_and_fill():
    x = torch.rand(4, 1, 16, 16)
    same = am.random_transform(x, torch.Generator().manual_seed(0), jitter=0, scale=(1, 1), angle=0)
    assert torch.allclose(same, x, atol=1e-5)
    zoomed_out = am.random_transform(
        torch.ones(2, 1, 16, 16), None, jitter=0, scale=(0.5, 0.5), angle=0, fill=0.0
    )
    assert zoomed_out[:, :, 0, 0].max() < 1e-6 and zoomed_out[:, :, 8, 8].min() > 0.99
    with pytest.raises(ValueError, match="jitter"):
        am.random_transform(x, None, jitter=-1)


def test_total_variation_and_pairwise_similarity():
    flat = torch.full((2, 1, 8, 8), 0.3)
    assert torch.equal(am.total_variation(flat), torch.zeros(2))
    stripes = torch.zeros(1, 1, 4, 4)
    stripes[..., ::2] = 1.0  # every horizontal neighbour differs by 1, vertical ones not at all
    assert am.total_variation(stripes).tolist() == [1.0]
    x = torch.rand(2, 1, 6, 6)
    # two targets, three images each: copies of one image are as similar as can be; one image alone is 0
    twins = torch.cat([x[:1].expand(3, -1, -1, -1), x[1:].expand(3, -1, -1, -1)])
    assert torch.allclose(pairwise_similarity(twins, 2), torch.ones(6), atol=1e-5)
    assert torch.equal(pairwise_similarity(x, 2), torch.zeros(2))
