"""Kernel code generation: model IR + jinja2 templates → source per target."""

from brainsweep.codegen.channels import history_channels
from brainsweep.codegen.environment import template_files
from brainsweep.codegen.generate import generate, spec_hash
from brainsweep.codegen.lower import KernelContext, lower
from brainsweep.codegen.spec import INTEGRATORS, KernelSpec, kernel_spec

__all__ = ["INTEGRATORS", "KernelContext", "KernelSpec", "generate", "history_channels",
           "kernel_spec", "lower", "spec_hash", "template_files"]
