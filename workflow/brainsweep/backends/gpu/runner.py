"""The one run loop of the GPU targets, over a small device protocol each backend implements.

A backend (pycuda in ``cuda_target``, pyopencl in ``opencl_target``) opens a
:class:`GpuDevice` for one run; everything else, from the layout to the outputs, is written
here once: upload the shard, allocate what the kernels write, initialise, step in launches of
:data:`~brainsweep.backends.gpu.launch.STEPS_PER_LAUNCH` steps, download. Kernel arguments
are bound by name from :mod:`brainsweep.backends.gpu.signatures`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np

from brainsweep.backends.base import ShardInputs, ShardOutputs
from brainsweep.backends.gpu.launch import choose_mapping, launch_chunks, split_block
from brainsweep.backends.gpu.layout import (
    DOWNLOADED,
    UPLOADED,
    collect_outputs,
    device_arrays,
    layout_shard,
)
from brainsweep.backends.gpu.signatures import arguments
from brainsweep.codegen.channels import needs_row_sums
from brainsweep.progress import Progress

__all__ = ["GpuDevice", "philox_sampler", "run_shard"]


class GpuDevice(Protocol):
    """One device, opened for one run by a backend (a context manager that frees it all)."""

    description: str  # the device in words, for memory messages
    flat_group_size: int | None  # block of the one-thread-per-simulation kernels (None: any)

    def free_bytes(self) -> int:
        """Device memory a shard may use."""

    def compile(self, source: str, regional: bool = False, row_sums: bool = False) -> None:
        """Build ``source`` (cached per process); its kernels are then launched by name.
        ``regional``, ``row_sums``: its step kernel takes the regional table, the weights'
        row sums (``signatures.kernel_table``)."""

    def upload(self, array: np.ndarray) -> Any:
        """A device copy of ``array`` (an empty one still gets a buffer)."""

    def alloc(self, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        """An uninitialised device array."""

    def launch(self, kernel: str, threads: int, group_size: int | None, args: list) -> None:
        """Queue ``kernel`` over ``threads`` threads in blocks of ``group_size``."""

    def occupancy(self, kernel: str) -> tuple[int, int] | None:
        """Multiprocessors and the warps of compiled ``kernel`` each holds at once; None on
        a device whose work-items of a group run one after another (a CPU), where more
        threads per simulation gain nothing."""

    def max_group_size(self, kernel: str) -> int:
        """The largest block compiled ``kernel`` may be launched with on this device."""

    def finish(self) -> None:
        """Wait for everything queued."""

    def download(self, buffer: Any, host: np.ndarray) -> None:
        """Copy ``buffer`` into ``host`` (blocking)."""


def _launch_flat(gpu: GpuDevice, kernel: str, n: int, args: list) -> None:
    """One thread per item, the grid padded to whole blocks (the kernels skip the padding)."""
    size = gpu.flat_group_size
    gpu.launch(kernel, n if size is None else math.ceil(n / size) * size, size, args)


def run_shard(target, opened: AbstractContextManager[GpuDevice], source: str, spec,
              inputs: ShardInputs, *, progress: bool = False) -> ShardOutputs:
    """Run one shard of ``source`` on the device ``opened`` gives, for ``target``'s knobs."""
    started = time.perf_counter()
    shard = layout_shard(spec, inputs)
    with opened as gpu:
        shard.check_fits(gpu.free_bytes(), gpu.description)
        regional = bool(spec.regional)  # the step kernel then takes the regional table
        row_sums = needs_row_sums(spec)  # and the weights' row sums
        gpu.compile(source, regional, row_sums)
        compiled = time.perf_counter()
        uploaded = (*UPLOADED, *(["regional"] if regional else []),
                    *(["row_sums"] if row_sums else []))
        buffers = {name: gpu.upload(getattr(shard, name)) for name in uploaded}
        buffers.update({name: gpu.alloc(shape, dtype)
                        for name, (shape, dtype) in device_arrays(shard).items()})
        scalars = {"n_sims": shard.n_sims, "n_nodes": shard.n_nodes,
                   "n_connections": shard.sources.size, "dt_model": inputs.dt,
                   "seed": shard.seed, "raw_period": inputs.raw_period,
                   "tavg_period": inputs.tavg_period, "bold_period": inputs.bold_period,
                   "bold_substeps": max(inputs.bold_substeps, 1), "dt_bold": inputs.dt_bold_s}
        _launch_flat(gpu, "initialise_shard", shard.n_sims,
                     arguments("initialise_shard", buffers, scalars))
        mapping = choose_mapping(
            shard.n_sims, shard.n_nodes, occupancy=gpu.occupancy("simulate_shard"),
            split_occupancy=gpu.occupancy("simulate_split"), mapping=target.mapping,
            node_parts=target.node_parts, split_geometry=target.split_geometry,
            max_threads=min(split_block(spec), gpu.max_group_size("simulate_split")))
        scalars.update(lanes=mapping.lanes, conn_parts=mapping.conn_parts)
        label = progress if isinstance(progress, str) else target.name
        report = Progress(shard.n_sims * inputs.n_steps, label=label) if progress else None
        for begin, end in launch_chunks(inputs.n_steps):
            scalars.update(step_begin=begin, step_end=end)
            gpu.launch(mapping.kernel, mapping.threads, mapping.group,
                       arguments(mapping.kernel, buffers, scalars, regional, row_sums))
            if report is not None:
                gpu.finish()
                report.update(shard.n_sims * end)
        gpu.finish()
        if report is not None:
            report.finish()
        ran = time.perf_counter()
        shapes = device_arrays(shard)
        hosts = {name: np.empty(*shapes[name]) for name in DOWNLOADED}
        for name, host in hosts.items():
            if host.nbytes:
                gpu.download(buffers[name], host)
    finished = time.perf_counter()
    outputs = collect_outputs(shard, hosts["out_raw"], hosts["out_tavg"], hosts["out_bold"],
                              hosts["diverged"], {"load_s": compiled - started,
                                                  "run_s": ran - compiled,
                                                  "copy_s": finished - ran})
    # the host-side reshaping into [sim, time, ...] (issue 17: measured stage by stage)
    outputs.timings["collect_s"] = time.perf_counter() - finished
    return outputs


def philox_sampler(open_device: Callable[[str | None], AbstractContextManager[GpuDevice]]
                   ) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """A backend's ``philox_sample(source, *, seed, sim, step, node, block, dtype, device)``
    over the devices ``open_device(device)`` opens."""

    def philox_sample(source: str, *, seed: int, sim: np.ndarray, step: np.ndarray,
                      node: np.ndarray, block: np.ndarray, dtype: str,
                      device: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Run the generated ``philox_sample`` kernel of ``source``.

        Returns the (n, 4) uint32 Philox words of counters ``(step, node, block, 0)`` under
        keys ``(seed, sim)`` and the (n, 4) normals the simulation kernel would draw from
        them.
        """
        columns = {name: np.ascontiguousarray(np.asarray(a) & 0xFFFFFFFF, dtype=np.uint32)
                   for name, a in (("sim", sim), ("step", step), ("node", node),
                                   ("block", block))}
        n = columns["sim"].size
        words = np.empty((n, 4), dtype=np.uint32)
        normals = np.empty((n, 4), dtype=np.dtype(dtype))
        with open_device(device) as gpu:
            gpu.compile(source)
            buffers = {name: gpu.upload(column) for name, column in columns.items()}
            buffers["words_out"] = gpu.alloc(words.shape, words.dtype)
            buffers["normals_out"] = gpu.alloc(normals.shape, normals.dtype)
            _launch_flat(gpu, "philox_sample", n, arguments(
                "philox_sample", buffers, {"n": n, "seed": int(seed) & 0xFFFFFFFF}))
            gpu.finish()
            if n:
                gpu.download(buffers["words_out"], words)
                gpu.download(buffers["normals_out"], normals)
        return words, normals

    return philox_sample
