"""The regret engine: the online protocol for a batch of runs, on the CPU (numba) and the
CUDA device, and a plain per-step NumPy loop that checks both (docs/theory.md §2.1)."""
