"""Update rules, their fused kernels, and the array backends."""
