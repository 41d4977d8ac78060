"""Sweeps at scale: a TOML grid cut into work units, run on local processes or Dask,
each finished unit cached in a results folder, and the units merged into one result.

``config`` (loading, validation) -> ``plan`` (units, keys, estimates) -> ``runner``
(cache, executor, merge) with ``store`` (the results folder), ``executors`` (inline,
local processes, Dask) and ``work`` (one unit on the regret or the training engine).
"""
