"""Training paper 000's networks: many small networks as one batched ensemble (temporary facade; being moved)."""

from ..train import *  # noqa: F403
from ..train import __all__  # noqa: F401
