"""The NumPy names the emulated ``cupy`` forwards (see ``__init__.__getattr__``).

Exactly the functions adambench's CuPy code paths call beyond those ``__init__.py``
defines itself, found by running ``pytest -m emulated`` with every forwarded name
logged.  Each is in CuPy's own API (docs.cupy.dev, "Comparison Table"); on a machine
with the real CuPy, ``tests/test_cuda_emulator.py`` checks that it exists there.  Any
other name raises AttributeError, as a NumPy function CuPy lacks would on a device: add
a name here only once CuPy is known to have it.

No imports: the test of the real CuPy loads this file by path.
"""

FORWARDED = frozenset(
    {
        "abs", "arange", "concatenate", "empty_like", "exp", "full", "full_like",
        "isfinite", "log", "log1p", "matmul", "maximum", "ones", "pad", "sqrt", "stack",
        "tanh", "where", "zeros", "zeros_like",
    }
)  # fmt: skip
