"""The adambench version: a leaf module (no imports), read by setuptools (pyproject.toml),
re-exported as ``adambench.__version__`` and imported by the modules that record it in
results (``results.environment``, sweep keys and unit files)."""

__version__ = "0.1.0"
