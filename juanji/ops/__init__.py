"""Differentiable primitives (``Op`` subclasses) grouped by family; Tensor methods call these."""
