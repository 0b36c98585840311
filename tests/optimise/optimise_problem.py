"""The tiny fitting problem of the optimise tests: ReducedWongWang (w 0.9, I_o 0.3) on the
first 20 cortical AAL2 regions of the HCP group connectome, 60 s of BOLD, and an
"empirical" FC simulated at a planted global coupling with a noise seed of its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from brainsweep import connectome
from brainsweep.bold.settings import validate_postprocess
from brainsweep.io import save_npz
from brainsweep.optimise.evaluate import connectivity
from brainsweep.simulate.run import run as simulate
from brainsweep.study.settings import SimulateSettings

ROOT = Path(__file__).resolve().parents[2]
N_REGIONS = 20
TRUTH = {"global_coupling": 0.55}
TRUTH_SEED = 7  # the study's simulation.seed is 42: the truth has noise of its own

SECTIONS = {
    "model": {"name": "rww", "parameters": {"w": 0.9, "I_o": 0.3}, "noise": {"S": 1.0e-6}},
    "coupling": {"name": "linear"},
    "integration": {"method": "heun", "stochastic": True, "dt": 1.0, "dtype": "float32"},
    "simulation": {"transient_s": 10.0, "duration_s": 60.0, "seed": 42, "target": "numba",
                   "threads": 1},
    "monitors": {"bold": {"preset": "friston2003", "tr": 0.72, "dt_s": 0.001}},
    "sweep": {"speed": 1.0},  # the optimiser proposes its own rows: a one-point sweep
    "bold": {"transient_s": 10.0, "detrend": True, "bandpass": [0.01, 0.1], "zscore": True,
             "gsr": False, "fcd": None},
}


def settings(**optimise) -> dict:
    """The whole stage settings with an ``optimise:`` section of these keys."""
    base = {"method": "cmaes", "parameters": {"global_coupling": [0.3, 1.0]}, "budget": 24,
            "population": 4, "restarts": 1, "seeds": 2,
            "objective": {"fc_rmse": 1.0, "mean_fc_diff": 1.0}, "seed": 1}
    return {**SECTIONS, "optimise": {**base, **optimise}}


def write_problem(folder: Path) -> tuple[Path, Path]:
    """The connectome and the planted "empirical" FC as the stages' files; their paths."""
    conn = connectome.preprocess(connectome.load(ROOT / "resources" / "hcp-aal2"),
                                 regions={"preset": "aal2-cortical"}, normalise="max")
    weights = conn.weights[:N_REGIONS, :N_REGIONS]
    weights = weights / weights.max()
    lengths = conn.lengths[:N_REGIONS, :N_REGIONS]
    conn_path = save_npz(folder / "connectome.npz", {"weights": weights, "lengths": lengths},
                         {"test": "optimise"})
    parsed = SimulateSettings.from_sections(SECTIONS)
    model = parsed.model.load()
    truth = simulate({"weights": weights, "lengths": lengths}, model, dt=1.0,
                     n_steps=parsed.n_steps(model.time_unit_s),
                     params={name: [value] for name, value in TRUTH.items()},
                     stochastic=True, seed=TRUTH_SEED, monitors=("bold",), bold_dt_s=0.001,
                     dtype="float32")
    fc, _ = connectivity(truth.bold, truth.diverged, tr=0.72,
                         options=validate_postprocess(SECTIONS["bold"], prefix="bold"))
    assert not truth.diverged.any()
    emp_path = save_npz(folder / "empirical.npz",
                        {"fc_group": fc[0], "fc_subjects": fc,
                         "subject_ids": np.array(["truth"])}, {"test": "optimise"})
    return conn_path, emp_path
