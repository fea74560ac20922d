"""Training settings are validated."""

import pytest
from localcodes import engine


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(activation="tanh"), "activation"),
        (dict(dropout=1.0), "dropout"),
        (dict(loss="ce"), "softmax"),
        (dict(optimizer="rmsprop"), "optimizer"),
        (dict(stop="never"), "stop"),
        (dict(hidden=()), "hidden"),
        (dict(lr=0), "lr"),
        (dict(batch_size=0), "batch_size"),
        (dict(noise_std=-1), "noise_std"),
    ],
)
def test_bad_settings_refused(kwargs, name):
    with pytest.raises(ValueError, match=name):
        engine.TrainConfig(**kwargs)
