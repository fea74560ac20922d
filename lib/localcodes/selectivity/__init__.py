"""Selectivity of units: the measures (in memory), the streaming accumulator, the summaries across layers, the
hook-based recorder (``extract``) and HDF5 activation tables (``tables``).

The public API: ``unit_table``, ``local_codes`` and ``SelectivityAccumulator`` (same numbers from batches).
"""

from .measures import *  # noqa: F403  (each module lists its public names in __all__)
from .measures import __all__ as _measures_all
from .streaming import SelectivityAccumulator
from .summaries import *  # noqa: F403
from .summaries import __all__ as _summaries_all

__all__ = [*_measures_all, "SelectivityAccumulator", *_summaries_all]
