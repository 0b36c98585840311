"""One process per GPU, each running its own shard of one grid, started together.

:func:`run_sharded` writes the job (the grid, the case, the run options) to a folder, starts
``n`` worker processes (``python -m brainsweep.reproduce.multigpu``), the k-th with
``CUDA_VISIBLE_DEVICES`` naming the k-th GPU, and waits until each has generated, compiled and
warmed up its kernel. Then it releases them at once (a *go* file holding the release time) and
waits for all to finish. Each worker runs the contiguous rows :func:`brainsweep.simulate.grid.
shard_rows` gives it, with their global indices (so a simulation's noise does not depend on
the split), and reports the time its ``simulate.run`` call ended. The sweep's wall time is the
last end minus the release: what the user waits for, every shard's uploads, launches,
synchronisation and output copy included. No Snakemake, no scheduler: the processes share
nothing but the host.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from brainsweep.errors import BrainsweepError, PlanError

__all__ = ["run_sharded", "visible_gpus"]

_READY_TIMEOUT_S = 240.0  # generation + nvcc + warm-up of one worker


def visible_gpus() -> list[str]:
    """GPU ids this process may hand out: ``CUDA_VISIBLE_DEVICES`` if set, else every NVIDIA
    GPU the driver reports."""
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        return [g.strip() for g in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if g.strip()]
    from brainsweep.info import nvidia_gpus

    return [line.split(",")[0].strip() for line in (nvidia_gpus() or [])]


def run_sharded(job: dict[str, Any], grid: dict[str, np.ndarray], n_shards: int, *,
                target: str, gpus: list[str] | None = None, timeout_s: float = 600.0,
                workdir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Run ``grid`` split into ``n_shards`` shards, one process (and one GPU) each.

    Parameters
    ----------
    job
        ``{"connectome": path, "case": ModelCase fields, "settings": {dt, integrator, dtype,
        seed, speeds}, "n_steps": int}``, plain JSON.
    grid
        ``{"speed": (S,), "global_coupling": (S,)}``.
    target
        ``cuda`` gives each worker its own GPU; other targets (CPU dry runs) share the host.

    Returns
    -------
    dict
        ``wall_s`` (release to the last end), ``shards`` (each worker's report), ``n_sims``.
    """
    if target == "cuda":
        available = visible_gpus() if gpus is None else list(gpus)
        if len(available) < n_shards:
            raise PlanError(f"{n_shards} GPUs asked for, {len(available)} visible "
                            f"({available}): one shard runs per GPU")
    else:
        available = [""] * n_shards
    with tempfile.TemporaryDirectory(prefix="brainsweep-shards-", dir=workdir) as folder:
        root = Path(folder)
        (root / "job.json").write_text(json.dumps({**job, "n_shards": n_shards}))
        np.savez(root / "grid.npz", **grid)
        processes = []
        for shard in range(n_shards):
            env = dict(os.environ)
            if target == "cuda":
                env["CUDA_VISIBLE_DEVICES"] = available[shard]
            # one compiler cache per worker slot (kept between runs): concurrent writers of
            # one cache could collide
            env["XDG_CACHE_HOME"] = str(Path(tempfile.gettempdir())
                                        / f"brainsweep-worker-cache-{shard}")
            log = open(root / f"worker-{shard}.log", "w")  # noqa: SIM115 - closed below
            processes.append((subprocess.Popen(
                [sys.executable, "-m", "brainsweep.reproduce.multigpu", str(root), str(shard)],
                env=env, stdout=log, stderr=subprocess.STDOUT), log))
        try:
            _wait_for(root, [f"ready-{k}" for k in range(n_shards)], processes,
                      _READY_TIMEOUT_S)
            released = time.time()
            go = root / "go.tmp"
            go.write_text(repr(released))
            go.rename(root / "go")
            _wait_for(root, [f"result-{k}.json" for k in range(n_shards)], processes,
                      timeout_s)
        finally:
            for process, log in processes:
                if process.poll() is None:
                    process.kill()
                process.wait()
                log.close()
        reports = [json.loads((root / f"result-{k}.json").read_text())
                   for k in range(n_shards)]
    ended = max(r["ended"] for r in reports)
    return {"n_sims": int(grid["speed"].size), "n_shards": n_shards,
            "wall_s": ended - released, "shards": reports}


def _wait_for(root: Path, names: list[str], processes, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not all((root / name).exists() for name in names):
        for shard, (process, _log) in enumerate(processes):
            if process.poll() is not None and not (root / names[shard]).exists():
                tail = (root / f"worker-{shard}.log").read_text()[-2000:]
                raise BrainsweepError(f"shard worker {shard} exited with status "
                                      f"{process.returncode} before '{names[shard]}':\n{tail}")
        if time.monotonic() > deadline:
            raise BrainsweepError(f"shard workers did not report {names} within {timeout_s} s")
        time.sleep(0.01)


def _worker(root: Path, shard: int) -> None:
    """One shard: warm up, report ready, wait for the release, run, report."""
    from brainsweep import connectome, simulate
    from brainsweep.reproduce.measure import initial_state, run_options, warm_up
    from brainsweep.reproduce.settings import ModelCase, ReproduceSettings
    from brainsweep.simulate.grid import shard_rows

    job = json.loads((root / "job.json").read_text())
    case_fields = dict(job["case"])
    for key in ("global_coupling", "initial_uniform"):
        if case_fields.get(key) is not None:
            case_fields[key] = tuple(case_fields[key])
    case = ModelCase(**case_fields)
    s = job["settings"]
    settings = ReproduceSettings(
        study="shard", figure="tvbhpc-fig2", target=job["target"], device=None,
        connectome=job["connectome"], dt=s["dt"], integrator=s["integrator"],
        dtype=s["dtype"], seed=s["seed"], n_steps=job["n_steps"], sizes=(1,),
        speeds=tuple(s["speeds"]), models=(case,))
    conn = connectome.load(job["connectome"])
    options = run_options(settings, case, device=job.get("device"))
    with np.load(root / "grid.npz") as data:
        grid = {k: data[k] for k in data.files}
    rows = shard_rows(grid["speed"].size, job["n_shards"], shard)
    params = {k: v[rows] for k, v in grid.items()}
    initial = initial_state(case, grid["speed"].size, conn.weights.shape[0],
                            len(options["model"].states), settings.seed)
    warm_up(conn, options, settings.speeds)
    (root / f"ready-{shard}").write_text("")
    while not (root / "go").exists():
        time.sleep(0.002)
    started = time.time()
    out = simulate.run(conn, options["model"], n_steps=job["n_steps"], params=params,
                       sim_index=rows, initial_state=None if initial is None else initial[rows],
                       **{k: v for k, v in options.items() if k != "model"})
    ended = time.time()
    device = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    report = {"shard": shard, "gpu": device, "n_sims": int(rows.size),
              "n_steps": job["n_steps"], "started": started, "ended": ended,
              "timings": out.timings, "diverged": int(np.count_nonzero(out.diverged))}
    tmp = root / f"result-{shard}.json.tmp"
    tmp.write_text(json.dumps(report))
    tmp.rename(root / f"result-{shard}.json")


if __name__ == "__main__":
    _worker(Path(sys.argv[1]), int(sys.argv[2]))
