"""The optimizer rules, one module each: a rule's equations, reference, coefficients and kernels."""
