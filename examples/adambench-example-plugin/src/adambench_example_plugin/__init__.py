"""An example adambench plugin: one optimizer (signsgd) and one training task."""

__version__ = "0.1.0"
