"""Fixtures of the engine's tests: one torch thread, and a small prototype-code data set."""

import pytest
import torch
from localcodes import engine


@pytest.fixture(autouse=True)
def one_thread():
    # the test machine is shared: one intra-op thread avoids oversubscription stalls (results do not change)
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
