"""How each shipped model is exercised against the float64 oracle, shared by the CPU tests
(tests/backends/test_models_oracle.py: Numba and OpenCL on PoCL) and the GPU tests
(tests/gpu/test_models_gpu.py: CUDA and OpenCL on an NVIDIA GPU).

Network: 20 regions spread over HCP subject 101309's 80 cortical regions (real weights / max
and real tract lengths: delays of about 3 to 90 ms at 3 m/s, up to 900 steps of 0.1 ms). The
oracle walks the IR with NumPy once per step, so the network is small; the delays stay real.
Each model starts from its initial values plus a seeded perturbation per node, so that no
coupling term is trivially zero.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from brainsweep import reference, simulate
from brainsweep.codegen import kernel_spec
from brainsweep.dsl import list_models
from brainsweep.simulate.run import parameter_table

N_REGIONS = 20
SPEED = 3.0  # m/s = mm/ms
# float64 on both sides; the only differences are the order of a few floating-point operations
# and libm versus NumPy transcendental functions, amplified by the dynamics over the run
RTOL = 1e-9
INTEGRATORS = ("euler", "heun", "rk4")


@dataclass(frozen=True)
class Case:
    """How one model is exercised: TVB's usual coupling and step, parameters that make the
    network input matter, and the horizon."""

    coupling: object  # a coupling name, a Coupling, or None (the model file's own)
    dt: float
    n_steps: int = 2000
    params: dict = field(default_factory=dict)
    perturbation: float = 0.05  # relative spread of the initial state across nodes


CASES: dict[str, Case] = {
    "montbrio": Case("linear", dt=0.01, n_steps=4000, params={"global_coupling": 0.5}),
    # TVB simulator's kuramoto (a, not a / N): 0.1 is the a / N = 2.0 / 20 that this case ran
    "kuramoto": Case("kuramoto", dt=0.1, params={"global_coupling": 0.1}, perturbation=1.0),
    "generic2d": Case("linear", dt=0.1, n_steps=3000, params={"global_coupling": 0.05}),
    "rww": Case("linear", dt=0.1, params={"global_coupling": 0.5}),
    "rww_exc_inh": Case("linear", dt=0.1, params={"global_coupling": 0.5}),
    # network input only acts through Kvf, Kf and Ks, which default to 0
    "epileptor": Case("difference", dt=0.05, n_steps=3000,
                      params={"global_coupling": 1.0, "Kvf": 0.5, "Kf": 0.5, "Ks": -0.2}),
    "jansen_rit": Case("linear", dt=0.1, params={"global_coupling": 0.0005}),
    "wilson_cowan": Case("linear", dt=0.1, params={"global_coupling": 0.5, "P": 0.5}),
    # Larter-Breakspear is chaotic at TVB's defaults (Breakspear et al. 2003): a rounding
    # difference of 1e-16 grows by about e per 20 ms, so beyond ~80 ms no implementation can
    # agree to 1e-9 with another. 700 steps of 0.1 ms keep the comparison meaningful.
    "larter_breakspear": Case("hyperbolic_tangent", dt=0.1, n_steps=700,
                              params={"coupling.a": 0.5, "coupling.sigma": 0.65}),
    # damping -1 instead of -10, so that the delayed input shapes the decay
    "linear": Case("linear", dt=0.1, params={"global_coupling": 0.1, "gamma": -1.0}),
    # on the limit cycle (a > 0); Deco et al. (2017) couple it diffusively
    "sup_hopf": Case("difference", dt=0.1, params={"global_coupling": 0.1, "a": 0.2}),
    # Deco et al. (2017)'s units (1/s, Hz, time in ms): the default study's regime; dt = 1 ms
    # keeps the delays real (3 to 90 steps)
    "hopf": Case("difference", dt=1.0, params={"global_coupling": 4.0, "a": -0.5, "f": 0.05}),
    "epileptor_2d": Case("difference", dt=0.05, n_steps=3000,
                         params={"global_coupling": 1.0, "Kvf": 0.5, "Ks": -0.2}),
    "epileptor_rs": Case("difference", dt=0.05, n_steps=3000,
                         params={"global_coupling": 1.0, "Kvf": 0.5, "Kf": 0.5, "Ks": -0.2}),
    # the next-generation (QIF mean-field) models are dimensionless like MontbrioPazoRoxin:
    # dt 0.1 is too coarse for them (GastSchmidtKnosche_SF diverges at its defaults)
    "coombes_byrne": Case("linear", dt=0.01, n_steps=4000, params={"global_coupling": 0.5}),
    "coombes_byrne_2d": Case("linear", dt=0.01, n_steps=4000, params={"global_coupling": 0.5}),
    "gast_schmidt_knosche_sd": Case("linear", dt=0.01, n_steps=4000,
                                    params={"global_coupling": 0.5, "cv": 0.5}),
    "gast_schmidt_knosche_sf": Case("linear", dt=0.01, n_steps=4000,
                                    params={"global_coupling": 0.5, "cv": 0.5}),
    # Euler at dt 0.1 lets the excitatory rate's bursts grow without bound
    "dumont_gutkin": Case("linear", dt=0.05, n_steps=3000, params={"global_coupling": 0.2}),
    # the dynamic threshold: both coupling terms and both branches' inputs are read
    "hopfield": Case("linear", dt=0.1, params={"global_coupling": 0.1, "dynamic": 1.0}),
    "deco_balanced_exc_inh": Case("linear", dt=0.1, params={"global_coupling": 0.5, "M_i": 1.5}),
    "zetterberg_jansen": Case("linear", dt=0.1, params={"global_coupling": 0.1}),
    # the rate variable x relaxes at about 2 R_minus |V - c_minus| ~ 44 / ms near rest: stiff
    # at dt 0.1 (Heun then oscillates onto the bound x = 0), accurate at dt 0.01
    "kion_ex": Case("linear", dt=0.01, n_steps=4000, params={"global_coupling": 0.5}),
    # the slow variable z reads the network through Ks (0 by default)
    "epileptor_codim3": Case("linear", dt=0.1, params={"global_coupling": 0.5, "Ks": -1.0}),
    # uA and uB 100 times faster than TVB's defaults, so that both arcs move within the run
    "epileptor_codim3_slowmod": Case("linear", dt=0.1, params={
        "global_coupling": 0.5, "Ks": -1.0, "cA": 0.01, "cB": 0.012}),
    # weaker spike-triggered adaptation than TVB's 60 pA, so that the rates stay away from 0
    "zerlaut_first_order": Case("linear", dt=0.1, params={"global_coupling": 0.01, "b_e": 10.0}),
}

# Every coupling function of kernels/couplings.yaml that CASES does not already run, on a
# model it suits: key -> (model, case). Jansen-Rit's term lists [y1, y2], so the couplings that
# read two variables of the source run on it; its y1 is about 15 mV, so the gains are set for
# the sigmoids not to saturate. A custom coupling reading two variables of the source and two
# of the target (x_i0, x_i1) is built in coupling_case().
COUPLING_CASES: dict[str, tuple[str, Case]] = {
    "scaling": ("generic2d", Case("scaling", dt=0.1, n_steps=3000,
                                  params={"global_coupling": 0.05})),
    "kuramoto_mean_field": ("kuramoto", Case("kuramoto_mean_field", dt=0.1,
                                             params={"global_coupling": 20.0},
                                             perturbation=1.0)),
    "sigmoidal": ("wilson_cowan", Case("sigmoidal", dt=0.1,
                                       params={"global_coupling": 1.0, "coupling.sigma": 1.0,
                                               "P": 0.5})),
    "sigmoidal_jansen_rit": ("jansen_rit", Case("sigmoidal_jansen_rit", dt=0.1,
                                                params={"global_coupling": 10.0})),
    "pre_sigmoidal": ("jansen_rit", Case("pre_sigmoidal", dt=0.1,
                                         params={"global_coupling": 0.01, "coupling.G": 0.1,
                                                 "coupling.theta": 15.0})),
    "pre_sigmoidal_dynamic": ("jansen_rit", Case("pre_sigmoidal_dynamic", dt=0.1,
                                                 params={"global_coupling": 0.01,
                                                         "coupling.G": 0.1})),
    "two_variable_difference": ("jansen_rit", Case("two_variable_difference", dt=0.1,
                                                   params={"global_coupling": 0.0005})),
}


def coupling_case(key: str):
    """(model, case) of COUPLING_CASES[key], its coupling loaded (or built, for the custom
    two-variable difference ``a * sum_j w_ij ((x_j0 - x_i0) - (x_j1 - x_i1))``)."""
    from brainsweep.dsl import load_coupling, load_model
    from brainsweep.dsl.coupling import Coupling
    from brainsweep.dsl.parse import parse_expression
    from brainsweep.dsl.parts import COUPLING_INPUTS, Parameter

    name, case = COUPLING_CASES[key]
    if key == "two_variable_difference":
        coupling = Coupling(
            name=key, pre=parse_expression("(x_j0 - x_i0) - (x_j1 - x_i1)",
                                           known=set(COUPLING_INPUTS)),
            post=parse_expression("a * gx", known={"a", "gx"}),
            parameters=(Parameter("a", 0.1),), global_parameter="a")
    else:
        coupling = load_coupling(case.coupling)
    return load_model(name), Case(coupling, dt=case.dt, n_steps=case.n_steps,
                                  params=case.params, perturbation=case.perturbation)


# RateML's five files (resources/rateml-xml), run with the coupling the file declares
# (coupling=None) and Euler, RateML's own integrator. epileptor.xml lacks TVB's factor x1 on
# the first equation's polynomial (see docs/models.md): as written, x1' ~ -x1**2 for x1 < 0
# blows up in finite time (about 12 steps from the middle of its ranges), so only its first
# steps can be compared (its divergence is tested in tests/dsl/test_lems.py).
# The speed is the file's (rec_speed_dt), else the top of its global_speed range.
RATEML_CASES: dict[str, Case] = {
    "kuramoto": Case(None, dt=0.1, params={"speed": 1.0}, perturbation=0.1),
    "montbrio": Case(None, dt=0.01, params={"speed": 1.0}, perturbation=0.1),
    "epileptor": Case(None, dt=0.05, n_steps=8, params={"speed": 2.0}, perturbation=0.1),
    "rwongwang": Case(None, dt=0.1, params={"speed": 1.0}, perturbation=0.1),
    "oscillator": Case(None, dt=0.1, params={"speed": 1.0}, perturbation=0.1),
}

# ReducedWongWang with the BOLD drive on its firing rate H, an auxiliary that reads the
# coupling input (H <- u <- x <- c_0): the drive needs the auxiliaries and the input held over
# the step on every target. (shipped text, replacement) pairs for the model file.
RATE_DRIVEN_BOLD = [("  bold: S\n", "  bold: H\n")]
# The same rate without the network input, as a drive only (the dynamics are unchanged): what
# a kernel that dropped the coupling from the drive would compute.
RATE_WITHOUT_INPUT_BOLD = [
    ("  bold: S\n", "  bold: H_local\n"),
    ("derivatives:\n", "  u_local: a * (w * J_N * S + I_o) - b\n"
                       "  H_local: u_local / (1.0 - exp(-d * u_local))\nderivatives:\n"),
]


def model_variant(name: str, edits, folder) -> Path:
    """A copy of shipped model ``name`` with the (old, new) text edits, written in ``folder``."""
    text = list_models()[name].read_text()
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    digest = hashlib.sha256(repr(edits).encode()).hexdigest()[:8]
    path = Path(folder) / f"{name}_{digest}.yaml"
    path.write_text(text)
    return path


# Stochastic Epileptor with different noise intensities on its six state variables: variables
# 4 and 5 draw from Philox block 1 (four normals per block), so a swapped or shared stream
# shows. With the sigmoidal coupling its dfun reads 6 + 2 + 18 + 5 = 31 values: more than the
# 30 positional arguments that CPython passes without a star-args call, which Numba cannot
# inline (the Numba template passes three tuples instead).
EPILEPTOR_NOISE = {"x1": 1e-3, "y1": 2e-3, "z": 1e-4, "x2": 3e-3, "y2": 4e-3, "g": 5e-4}
NOISY_EPILEPTOR = Case("sigmoidal", dt=0.05, n_steps=2000,
                       params={"global_coupling": 1.0, "coupling.sigma": 1.0, "Kvf": 0.5,
                               "Kf": 0.5, "Ks": -0.2})


def subnetwork(conn) -> SimpleNamespace:
    """N_REGIONS regions spread over the connectome, weights renormalised by their maximum."""
    n = conn.weights.shape[0]
    keep = np.linspace(0, n - 1, N_REGIONS).round().astype(int)
    weights = conn.weights[np.ix_(keep, keep)]
    return SimpleNamespace(weights=weights / weights.max(),
                           lengths=conn.lengths[np.ix_(keep, keep)])


def initial_state(model, n_nodes: int, spread: float, seed: int) -> np.ndarray:
    """The model's initial values, perturbed per node (fresh, seeded, never all equal)."""
    rng = np.random.default_rng(seed)
    base = np.array([s.initial for s in model.states])[:, None]
    scale = np.maximum(np.abs(base), 0.1)
    state = base + spread * scale * rng.uniform(-1.0, 1.0, (len(model.states), n_nodes))
    for v, s in enumerate(model.states):
        state[v] = np.clip(state[v], s.lower if s.lower is not None else -np.inf,
                           s.upper if s.upper is not None else np.inf)
    return state


def relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(ref)), "NaN never passes"
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))


def run_target(network, model, case: Case, *, target: str, integrator: str,
               initial: np.ndarray, device: str | None = None, **options):
    """One deterministic float64 simulation of ``case`` on ``target`` (raw monitor)."""
    settings = dict(dt=case.dt, n_steps=case.n_steps, params={"speed": SPEED, **case.params},
                    integrator=integrator, coupling=case.coupling, stochastic=False,
                    monitors=("raw",), initial_state=initial)
    settings.update(options)
    if device is not None:
        settings["device"] = device
    return simulate.run(network, model, target=target, **settings)


def run_oracle(network, model, case: Case, *, integrator: str, initial: np.ndarray,
               noise: dict[str, float] | None = None, seed: int = 0, sim_index: int = 0,
               **monitors):
    """The float64 oracle for the simulation that :func:`run_target` runs; with ``noise``
    (state variable -> D), the stochastic one of ``stochastic=True, noise=noise``."""
    if noise:
        model = model.with_noise(**noise)
    spec = kernel_spec(model, coupling=case.coupling, integrator=integrator,
                       stochastic=bool(noise))
    row = parameter_table(spec, {"speed": SPEED, **case.params})[0]
    return reference.simulate_one(
        spec, weights=network.weights, lengths=network.lengths,
        params=dict(zip(spec.parameter_names, row, strict=True)), dt=case.dt,
        n_steps=case.n_steps, initial=initial, noise=np.array([s.noise for s in model.states]),
        seed=seed, sim_index=sim_index, **monitors)
