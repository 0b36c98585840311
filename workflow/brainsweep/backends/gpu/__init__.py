"""The GPU targets' shared host side: one layout, one kernel signature table, one run loop.

CUDA (``brainsweep.backends.cuda_target``, pycuda) and OpenCL
(``brainsweep.backends.opencl_target``, pyopencl) render the same templates
(``kernels/templates/gpu``, one small prelude per language) and differ only in the
:class:`~brainsweep.backends.gpu.runner.GpuDevice` they open:

* :mod:`.layout` — a shard in the kernels' device layouts and the outputs back;
* :mod:`.launch` — steps per launch, block shape, threads per simulation;
* :mod:`.signatures` — each kernel's parameters, once, for the C source and the host;
* :mod:`.runner` — the run loop over the device protocol;
* :mod:`.target` — the target base class (templates, tuning knobs, ``run``).
"""

from brainsweep.backends.gpu.launch import (
    SIM_LANES,
    STEPS_PER_LAUNCH,
    THREADS_PER_BLOCK,
    choose_node_parts,
    launch_chunks,
    resident_warps,
)
from brainsweep.backends.gpu.layout import (
    DeviceShard,
    collect_outputs,
    connection_lists,
    device_arrays,
    layout_shard,
    output_shapes,
)
from brainsweep.backends.gpu.runner import GpuDevice, philox_sampler, run_shard
from brainsweep.backends.gpu.signatures import KERNELS, arguments, c_parameters, prepared_types
from brainsweep.backends.gpu.target import GpuTarget

__all__ = ["KERNELS", "SIM_LANES", "STEPS_PER_LAUNCH", "THREADS_PER_BLOCK", "DeviceShard",
           "GpuDevice", "GpuTarget", "arguments", "c_parameters", "choose_node_parts",
           "collect_outputs", "connection_lists", "device_arrays", "launch_chunks",
           "layout_shard", "output_shapes", "philox_sampler", "prepared_types", "resident_warps",
           "run_shard"]
