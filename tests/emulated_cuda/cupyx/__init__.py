"""The emulated ``cupyx`` (see ``../cupy/__init__.py``): only ``cupyx.profiler``."""
