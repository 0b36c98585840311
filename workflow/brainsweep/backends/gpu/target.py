"""What the CUDA and OpenCL targets share: the templates, the tuning knobs and the run."""

from __future__ import annotations

from abc import abstractmethod
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from brainsweep.backends.base import ShardInputs, ShardOutputs, Target
from brainsweep.backends.gpu.launch import SIM_LANES, split_block
from brainsweep.backends.gpu.runner import GpuDevice, run_shard
from brainsweep.backends.gpu.signatures import KERNELS, c_parameters
from brainsweep.codegen.channels import needs_row_sums

__all__ = ["GpuTarget"]


class GpuTarget(Target):
    """A GPU target: the shared templates of ``kernels/templates/gpu`` in one language, run
    by :func:`~brainsweep.backends.gpu.runner.run_shard` on the device it opens."""

    template_folder = "gpu"
    main_template = "simulate.j2"
    language: ClassVar[str]  # "cuda" or "opencl": which gpu/prelude_<language>.j2 it uses
    coupling_sum = "{gx}"  # the sums are scalars, one node at a time
    history_dtypes = ("float16",)  # __half (CUDA) or vload_half/vstore_half_rte (OpenCL)
    # Tuning (docs/perf-notes.md), per target class: history loads issued together per
    # thread; threads per simulation (None: as many as fill the device once, see
    # choose_node_parts); a register cap for the compiler (None: its own choice). 64
    # registers let 32 warps share a multiprocessor instead of 21 at nvcc's 92, for a few
    # bytes of spills in sinf's rare slow path: 142 -> 214 M sim-steps/s on the benchmark at
    # P = 32768 on an H200; batches of 4 then gave 245 (8: 206), the fewest registers with
    # enough loads in flight.
    connection_batch: int = 4
    node_parts: int | None = None
    max_registers: int | None = 64
    # The mapping of threads to simulations (launch.choose_mapping): None chooses "lanes"
    # (one thread per simulation and node part) unless the shard is too small to give every
    # multiprocessor a block, then "split" (many threads per simulation); split_geometry
    # (lanes, node_parts, conn_parts) fixes the split kernel's block, for tests and tuning.
    mapping: str | None = None
    split_geometry: tuple[int, int, int] | None = None
    # The split kernel with one round (every node its own advancing thread) and one
    # simulation a block: True (the default since git 9514f7c) stores the node's next
    # history value from registers in the thread that advanced it, two barriers a step;
    # False keeps the store phase of several rounds (the state read back from global memory
    # and stored at the step's start, three barriers), the store path before it. Blocks of
    # several simulations always take the store phase, measured faster there. Results are
    # the same; for timing the two.
    fused_store: bool = True

    def context_extras(self, spec) -> dict[str, Any]:
        """``language``, ``fn`` (math names for the real type), ``sim_lanes``,
        ``connection_batch``, ``split_threads`` (the split kernel's largest block),
        ``fused_store`` and ``kernel_parameters`` (the C parameter lists)."""
        return {"language": self.language, "fn": dict(self.renderer(dtype=spec.dtype).functions),
                "sim_lanes": SIM_LANES, "connection_batch": int(self.connection_batch),
                "split_threads": split_block(spec), "fused_store": bool(self.fused_store),
                "kernel_parameters": {name: c_parameters(name, bool(spec.regional),
                                                         needs_row_sums(spec))
                                      for name in KERNELS}}

    @abstractmethod
    def open_device(self, device: str | None) -> AbstractContextManager[GpuDevice]:
        """The device that ``device`` names, opened for one run."""

    def run(self, source: str, spec, inputs: ShardInputs, *, device: str | None = None,
            progress: bool = False) -> ShardOutputs:
        return run_shard(self, self.open_device(device), source, spec, inputs,
                         progress=progress)
