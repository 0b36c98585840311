"""Targets that generate and run kernels: numba (CPU), cuda (pycuda), opencl (pyopencl)."""

from brainsweep.backends.base import (
    ShardInputs,
    ShardOutputs,
    Target,
    get_target,
    list_targets,
    refresh_targets,
    register,
)

__all__ = ["ShardInputs", "ShardOutputs", "Target", "get_target", "list_targets", "refresh_targets",
           "register"]
