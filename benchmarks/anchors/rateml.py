"""Time RateML's generated CUDA kernels (tvb-contrib) on the anchor problems, with pycuda.

Usage (repository root, on a host with an NVIDIA GPU and pycuda)::

    python benchmarks/anchors/rateml.py --steps 2000 --json rateml.json
    python benchmarks/anchors/rateml.py --emit-source DIR   # the kernels as compiled, no GPU

The kernels are read at run time from the tvb-contrib wheel in ``benchmarks/anchors/.peers/``
(``fetch_peers.sh`` puts it there); nothing of theirs is kept in this repository. The host
side does what RateML's own driver (``tvb/contrib/rateML/run/model_driver.py``) does: the
same text substitutions before compiling (``pi`` -> its float value, ``inf`` -> ``INFINITY``),
the same nvcc options (``-maxrregcount=32``, ``-DWARP_SIZE=32``, ``-DNH=<buffer>``), the
kernel looked up by its C++ mangled name, weights and tract lengths as float32 (N, N),
parameters as a (n_params, P) float32 array, a state history of ``buf_len`` slots (the next
power of two above the longest delay at the slowest speed) × states × N × P, two tavg
buffers used in turn, and ``n_inner_steps = 1 ms / dt = 10`` steps per launch with ``i_step``
advancing by 10.

What is changed in their source, and why (each substitution must match exactly once, or the
script stops: a changed wheel is never timed silently):

* thread index: the generated ``id = gridDim.x * blockDim.x * threadIdx.y + threadIdx.x``
  ignores ``blockIdx``, so every block of a grid computes the same simulations; it becomes
  the 1-D ``blockIdx.x * blockDim.x + threadIdx.x`` and the kernels are launched on 1-D
  blocks of 32-256 threads (the best is reported, every one is logged);
* 64-bit history offsets: ``state(time, i_node)`` computes ``(time * n_states * N + i_node)
  * P + id`` in 32-bit unsigned arithmetic, which wraps once buf_len × states × N × P passes
  2³² (P > 15 420 for Kuramoto's 4096 slots), so larger P read and write other simulations'
  history; the product is widened to ``size_t``. Where the offsets wrap, the 32-bit variant
  as generated is timed too, at the 64-bit variant's best block size, and labelled, so its
  effect is visible (``--no-idx32`` skips it);
* MontbrioPazoRoxin's speed: ``montbrio_heun.c`` hard-codes 1 m/s (``1.0f / 1.0f / dt``);
  it is set to the anchor problem's 3 m/s so that the delays, and the history, are the same
  as the other engines'.

The model equations and constants are theirs: their Kuramoto clamps the phase to [-2, 1]
(``wrap_it_V``) and does not divide the coupling by N; their MontbrioPazoRoxin uses Delta
0.7, J 14.5, eta -4.6 and cv 1 with noise from ``curand_normal``. The work per sim-step is
the anchor problem's: the same connections read through their delays (every non-zero
weight), one Euler (Kuramoto) or Heun (MontbrioPazoRoxin) step per node.

Timing: after one warm-up launch (compilation and module load excluded), ``steps / 10``
launches on one stream, then a context synchronisation; the clock runs from the first
launch to the end of the synchronisation. The driver's per-launch tavg copies to the host
are left out (brainsweep's and vbjax's output copies are left out too). Rate = P × steps /
time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import problems  # noqa: E402

KERNEL_DIR = "tvb/contrib/rateML/generatedModels/"
BLOCK_SIZES = (32, 64, 128, 256)
INNER_STEPS = 10  # the driver's tavg period (1 ms) over dt
NVCC_OPTIONS = ["-maxrregcount=32", "-DWARP_SIZE=32"]  # the driver's, less ptxas' -v

# name -> the generated file, its state count, its parameter columns and the speed it needs
MODELS = {
    "kuramoto": {"file": "kuramoto.c", "states": 1},
    "montbrio_heun": {"file": "montbrio_heun.c", "states": 2},
}


def find_wheel(peers: Path = problems.PEERS) -> Path:
    """The tvb-contrib wheel that ``fetch_peers.sh`` downloaded."""
    wheels = sorted(peers.glob("tvb_contrib-*.whl"))
    if not wheels:
        raise SystemExit(f"{peers}: no tvb_contrib-*.whl; run benchmarks/anchors/fetch_peers.sh")
    return wheels[-1]


def read_generated(wheel: Path, name: str) -> str:
    """The text of one generated kernel inside the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(KERNEL_DIR + MODELS[name]["file"]).decode()


def _replace_once(text: str, old: str, new: str, what: str) -> str:
    count = text.count(old)
    if count != 1:
        raise SystemExit(f"RateML source: expected one '{old}' ({what}), found {count}")
    return text.replace(old, new)


def prepare_source(text: str, name: str, *, index64: bool = True) -> str:
    """Their kernel with the changes listed in the module docstring, then the driver's
    substitutions (``pi``, ``inf``)."""
    text = _replace_once(
        text, "const unsigned int id = (gridDim.x * blockDim.x * threadIdx.y) + threadIdx.x;",
        "const unsigned int id = blockIdx.x * blockDim.x + threadIdx.x;", "1-D thread index")
    if index64:
        text = _replace_once(text, "(state_pwi[((time) *", "(state_pwi[(size_t)((time) *",
                             "64-bit history offset")
    if name == "montbrio_heun":
        text = _replace_once(text, "const float rec_speed_dt = 1.0f / 1.0f / dt;",
                             f"const float rec_speed_dt = 1.0f / {problems.MPR_SPEED}f / dt;",
                             "conduction speed")
    # RateML's driver (make_kernel) does exactly these two plain substitutions
    text = text.replace("pi", f"{np.pi:f}f")
    return text.replace("inf", "INFINITY")


def mangled_name(name: str) -> str:
    """The kernel's symbol as RateML's driver builds it (compiled with no_extern_c)."""
    return f"_Z{len(name)}{name}jjjjjfPfS_S_S_S_"


def buffer_length(lengths: np.ndarray, min_speed: float) -> int:
    """The driver's history length: the next power of two above the longest delay + 1."""
    longest = int((lengths / min_speed / problems.DT).astype("i").max()) + 1
    return int(2 ** np.argwhere(2 ** np.r_[:30] > longest)[0][0])


def offsets_wrap(name: str, n_sims: int) -> bool:
    """Whether the generated 32-bit history offsets pass 2**32 at this P."""
    _, lengths = problems.load_connectome()
    nh = buffer_length(lengths, slowest_speed(name))
    return nh * MODELS[name]["states"] * lengths.shape[0] * n_sims > 2**32


def slowest_speed(name: str) -> float:
    """The slowest conduction speed of the problem (m/s), which sets the history length."""
    if name == "kuramoto":
        from brainsweep.bench import N_SPEEDS, bench_grid

        return float(bench_grid(N_SPEEDS)["speed"].min())
    return problems.MPR_SPEED


def parameter_rows(name: str, n_sims: int) -> tuple[np.ndarray, float]:
    """(n_params, P) float32 parameters in the kernel's column order, and the slowest speed."""
    if name == "kuramoto":
        from brainsweep.bench import bench_grid

        grid = bench_grid(n_sims)
        rows = np.stack([grid["speed"], grid["global_coupling"]])
        return rows.astype(np.float32), float(grid["speed"].min())
    noise = np.full(n_sims, problems.MPR_NOISE_D)  # params(0) is their nsig
    rows = np.stack([noise, problems.mpr_couplings(n_sims)])
    return rows.astype(np.float32), problems.MPR_SPEED


class RatemlKernel:
    """One generated kernel, compiled, with its device buffers laid out as RateML's driver
    lays them out; ``run`` launches it as the driver does, 10 steps per launch."""

    def __init__(self, name: str, params: np.ndarray, nh: int, *, index64: bool = True):
        import pycuda.driver as drv
        import pycuda.gpuarray as gpuarray
        from pycuda.compiler import SourceModule

        self.drv, self.name, self.nh = drv, name, nh
        weights, lengths = problems.load_connectome()
        self.n_nodes, self.n_sims = weights.shape[0], params.shape[1]
        self.n_states = MODELS[name]["states"]
        source = prepare_source(read_generated(find_wheel(), name), name, index64=index64)
        module = SourceModule(source, options=[*NVCC_OPTIONS, f"-DNH={nh}"],
                              no_extern_c=True, keep=False)
        self.step = module.get_function(mangled_name(name))
        self.buffers = {"weights": gpuarray.to_gpu(weights.astype(np.float32)),
                        "lengths": gpuarray.to_gpu(lengths.astype(np.float32)),
                        "params": gpuarray.to_gpu(np.ascontiguousarray(params, np.float32))}
        # history and tavg straight on the device, zeroed there (the driver fills host
        # arrays first: at P = 131 072 a 136 GiB host array); sizes in float32 words
        self.words = {"state": nh * self.n_states * self.n_nodes * self.n_sims,
                      "tavg0": self.n_states * self.n_nodes * self.n_sims,
                      "tavg1": self.n_states * self.n_nodes * self.n_sims}
        try:
            for key, count in self.words.items():
                self.buffers[key] = drv.mem_alloc(4 * count)
                drv.memset_d32(self.buffers[key], 0, count)
        except drv.MemoryError:
            self.free()
            raise

    @property
    def history_gib(self) -> float:
        return self.words["state"] * 4 / 2**30

    def launch(self, i: int, block: int) -> None:
        """Launch i: steps 10 i to 10 i + 9, into tavg buffer i % 2."""
        b = self.buffers
        self.step(np.uintc(i * INNER_STEPS), np.uintc(self.n_nodes), np.uintc(self.nh),
                  np.uintc(INNER_STEPS), np.uintc(self.n_sims), np.float32(problems.DT),
                  b["weights"], b["lengths"], b["params"], b["state"], b[f"tavg{i % 2}"],
                  block=(block, 1, 1), grid=(self.n_sims // block, 1))

    def run(self, n_launches: int, block: int) -> float:
        """Launches 0 .. n_launches - 1 from t = 0, then synchronise; the seconds taken."""
        if self.n_sims % block:
            raise SystemExit(f"P = {self.n_sims} is not a multiple of the block size {block}")
        started = time.perf_counter()
        for i in range(n_launches):
            self.launch(i, block)
        self.drv.Context.synchronize()
        return time.perf_counter() - started

    def tavg(self, n_launches: int) -> np.ndarray:
        """The last launch's 10-step average, (states, N, P)."""
        host = np.empty(self.words["tavg0"], np.float32)
        self.drv.memcpy_dtoh(host, self.buffers[f"tavg{(n_launches - 1) % 2}"])
        return host.reshape(self.n_states, self.n_nodes, self.n_sims)

    def free(self) -> None:
        for array in self.buffers.values():
            (array.gpudata if hasattr(array, "gpudata") else array).free()
        self.buffers = {}


def time_kernel(name: str, n_sims: int, n_steps: int, *, index64: bool,
                block_sizes=BLOCK_SIZES) -> list[dict]:
    """Compile one variant and time it at each block size; one record per block size."""
    import pycuda.driver as drv

    params, min_speed = parameter_rows(name, n_sims)
    _, lengths = problems.load_connectome()
    nh = buffer_length(lengths, min_speed)
    try:
        kernel = RatemlKernel(name, params, nh, index64=index64)
    except drv.MemoryError as error:
        words = nh * MODELS[name]["states"] * lengths.shape[0] * n_sims
        return [{"engine": "rateml", "model": name, "n_sims": n_sims, "error": str(error),
                 "history_gib": words * 4 / 2**30}]
    n_launches = n_steps // INNER_STEPS
    records = []
    for block in block_sizes:
        kernel.run(1, block)  # warm-up: module load, first launch
        elapsed = kernel.run(n_launches, block)
        tavg = kernel.tavg(n_launches)
        records.append({
            "engine": "rateml", "model": name, "index": "64-bit" if index64 else "32-bit",
            "n_sims": n_sims, "n_steps": n_launches * INNER_STEPS, "block": block,
            "buf_len": nh, "run_s": elapsed,
            "sim_steps_per_s": n_sims * n_launches * INNER_STEPS / elapsed,
            "nonfinite_tavg": int(np.count_nonzero(~np.isfinite(tavg))),
            "history_gib": kernel.history_gib})
        print(json.dumps(records[-1]), flush=True)
    kernel.free()
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000,
                        help="steps per timing (a multiple of 10)")
    parser.add_argument("--kuramoto-sizes", type=int, nargs="*",
                        default=list(problems.KURAMOTO_SIZES))
    parser.add_argument("--mpr-sizes", type=int, nargs="*", default=list(problems.MPR_SIZES))
    parser.add_argument("--no-idx32", dest="idx32", action="store_false",
                        help="skip the 32-bit-offset variant as generated")
    parser.add_argument("--json", type=Path, help="write every record here")
    parser.add_argument("--emit-source", type=Path,
                        help="only write the kernels as they are compiled into this folder")
    args = parser.parse_args(argv)
    if args.emit_source:
        args.emit_source.mkdir(parents=True, exist_ok=True)
        for name in MODELS:
            for index64 in (True, False):
                text = prepare_source(read_generated(find_wheel(), name), name,
                                      index64=index64)
                suffix = "" if index64 else "_idx32"
                (args.emit_source / f"{name}{suffix}.cu").write_text(text)
        return 0
    import pycuda.autoinit  # noqa: F401  (the context, as RateML's driver makes it)

    records = []
    for name, sizes in (("kuramoto", args.kuramoto_sizes), ("montbrio_heun", args.mpr_sizes)):
        for n_sims in sizes:
            timed = time_kernel(name, n_sims, args.steps, index64=True)
            records += timed
            # the 32-bit variant differs only where its offsets wrap (else it is the same
            # code); it is timed at the 64-bit variant's best block size only
            rates = [r for r in timed if "sim_steps_per_s" in r]
            if args.idx32 and rates and offsets_wrap(name, n_sims):
                best = max(rates, key=lambda r: r["sim_steps_per_s"])["block"]
                records += time_kernel(name, n_sims, args.steps, index64=False,
                                       block_sizes=(best,))
    if args.json:
        args.json.write_text(json.dumps(records, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
