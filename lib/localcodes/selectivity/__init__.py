"""Selectivity of units: the measures (in memory), the streaming accumulator, the hook-based recorder.

The public API: ``unit_table``, ``local_codes`` and ``SelectivityAccumulator`` (same numbers from batches).
"""

from .measures import *  # noqa: F403  (the measures module lists the public names in __all__)
from .measures import __all__ as _measures_all

__all__ = list(_measures_all)
