"""Kernel benchmarking: configuration, timing (CPU and CUDA), roofline, peers, the gate."""
