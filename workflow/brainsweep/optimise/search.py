"""The searches: one per subject and restart, asked for a generation of candidates at a time.

Both kinds search the box of the free parameters; CMA-ES works in the box mapped to [0, 1]
per axis (log axes through their logarithm), so one step size ``sigma0`` fits every axis.

* :class:`CmaSearch` wraps pycma's ``CMAEvolutionStrategy`` (bounds by its BoundTransform).
  Its state is the strategy object itself, which the stage pickles after every generation.
  Each ``ask`` seeds pycma's normal draws from (seed, subject, restart, generation), so a
  resumed search draws what an uninterrupted one would.
* :class:`OptunaSearch` asks and tells an Optuna study held in an SQLite file (RDB
  storage), one study per subject and restart, so ``optuna-dashboard`` can open it while it
  runs. The sampler (TPE or random) is made afresh for every generation with a seed derived
  the same way: what it suggests depends only on the finished trials in the file.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["CmaSearch", "OptunaSearch", "SearchSpace", "derived_seed"]


def derived_seed(*parts: int) -> int:
    """A 32-bit seed from integers (NumPy's SeedSequence hashing): the same parts, the same
    seed, in any process."""
    return int(np.random.SeedSequence([int(part) for part in parts]).generate_state(1)[0])


class SearchSpace:
    """The free parameters' box and its map to and from the unit cube."""

    def __init__(self, parameters: Mapping[str, Mapping[str, float]]):
        self.names = tuple(parameters)
        self.low = np.array([parameters[n]["low"] for n in self.names], dtype=np.float64)
        self.high = np.array([parameters[n]["high"] for n in self.names], dtype=np.float64)
        self.log = np.array([bool(parameters[n]["log"]) for n in self.names])

    def _ends(self):
        low = np.where(self.log, np.log(np.where(self.log, self.low, 1.0)), self.low)
        high = np.where(self.log, np.log(np.where(self.log, self.high, 1.0)), self.high)
        return low, high

    def from_unit(self, unit: np.ndarray) -> np.ndarray:
        low, high = self._ends()
        value = low + np.clip(unit, 0.0, 1.0) * (high - low)
        return np.clip(np.where(self.log, np.exp(value), value), self.low, self.high)

    def to_unit(self, values: np.ndarray) -> np.ndarray:
        low, high = self._ends()
        value = np.where(self.log, np.log(np.maximum(values, 1e-300)), values)
        return (value - low) / (high - low)


# pycma's normal draws: its ``randn`` option names this function, which pickles by name
# (NumPy's own ``np.random.randn`` would pickle as a copy of the global generator, and an
# unpickled strategy would then draw from that copy, not from the seeded one)
_DRAWS = np.random.RandomState(0)


def _randn(*shape: int) -> np.ndarray:
    return _DRAWS.standard_normal(shape)


@contextlib.contextmanager
def _seeded_draws(seed: int):
    """Seed pycma's draws (and NumPy's global generator, which a few of its branches use)
    for one ``ask``; the global generator is restored afterwards."""
    saved = np.random.get_state()
    np.random.seed(seed)
    _DRAWS.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(saved)


def _costs(scores: Sequence[float]) -> list[float]:
    """Scores (maximised, NaN for a diverged candidate) as the costs CMA-ES minimises: a
    NaN costs more than the worst finite candidate of its generation, so it never wins but
    does not distort the ranking of the others."""
    scores = np.asarray(scores, dtype=np.float64)
    finite = np.isfinite(scores)
    worst = float(-scores[finite].min()) if finite.any() else 0.0
    return [float(-s) if ok else worst + 1.0 for s, ok in zip(scores, finite, strict=True)]


class CmaSearch:
    """CMA-ES over the unit cube of ``space``; ``key`` is (seed, subject, restart)."""

    def __init__(self, space: SearchSpace, *, population: int, sigma0: float,
                 key: tuple[int, ...]):
        import cma

        self.space = space
        self.key = tuple(int(k) for k in key)
        # the first restart starts at the box's centre, the others somewhere else in its
        # middle 80 % (away from the walls), so that restarts explore
        start = np.full(len(space.names), 0.5)
        if self.key[-1] > 0:
            start = np.random.default_rng(derived_seed(*self.key, 0)).uniform(
                0.1, 0.9, len(space.names))
        options = {"bounds": [0.0, 1.0], "popsize": int(population), "verbose": -9,
                   "seed": derived_seed(*self.key, 1), "maxfevals": math.inf,
                   "tolfun": 0.0, "tolx": 0.0, "tolfunhist": 0.0, "tolstagnation": 10**9,
                   "randn": _randn}
        if len(space.names) == 1:
            # pycma refuses one dimension; a second, ignored coordinate lets it run
            start = np.r_[start, 0.5]
        self.es = cma.CMAEvolutionStrategy(start.tolist(), float(sigma0), options)
        self._asked: list[np.ndarray] | None = None

    def ask(self, generation: int) -> np.ndarray:
        with _seeded_draws(derived_seed(*self.key, 2, generation)):
            self._asked = self.es.ask()
        unit = np.array(self._asked)[:, :len(self.space.names)]
        return self.space.from_unit(unit)

    def tell(self, scores: Sequence[float]) -> None:
        self.es.tell(self._asked, _costs(scores))
        self._asked = None

    def pending(self) -> list:
        return []


class OptunaSearch:
    """Optuna ask-and-tell on the study ``name`` in the SQLite file ``storage``."""

    def __init__(self, space: SearchSpace, *, method: str, storage: str, name: str,
                 key: tuple[int, ...], population: int):
        self.space = space
        self.method = method
        self.storage_path = str(storage)
        self.name = name
        self.key = tuple(int(k) for k in key)
        self.population = int(population)
        self._trials: list[int] = []

    def _storage(self):
        import optuna

        # several jobs of one study share the file: wait for SQLite's lock, do not fail
        return optuna.storages.RDBStorage(
            f"sqlite:///{self.storage_path}", engine_kwargs={"connect_args": {"timeout": 120}})

    def _study(self, generation: int):
        import optuna

        seed = derived_seed(*self.key, 3, generation)
        if self.method == "tpe":
            sampler = optuna.samplers.TPESampler(
                seed=seed, multivariate=True, n_startup_trials=max(self.population, 8))
        else:
            sampler = optuna.samplers.RandomSampler(seed=seed)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        return optuna.create_study(study_name=self.name, storage=self._storage(),
                                   sampler=sampler, direction="maximize", load_if_exists=True)

    def _distributions(self):
        from optuna.distributions import FloatDistribution

        return {name: FloatDistribution(float(lo), float(hi), log=bool(log))
                for name, lo, hi, log in zip(self.space.names, self.space.low,
                                             self.space.high, self.space.log, strict=True)}

    def abandon_running(self) -> int:
        """Mark trials asked by a job that was killed before it could tell them as failed
        (samplers ignore failed trials); returns how many."""
        import optuna

        study = self._study(0)
        running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        for trial in running:
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        return len(running)

    def ask(self, generation: int) -> np.ndarray:
        study = self._study(generation)
        distributions = self._distributions()
        self._trials, rows = [], []
        for _ in range(self.population):
            trial = study.ask(distributions)
            trial.set_user_attr("generation", int(generation))
            self._trials.append(trial.number)
            rows.append([trial.params[name] for name in self.space.names])
        return np.array(rows, dtype=np.float64)

    def tell(self, scores: Sequence[float]) -> None:
        """Remember the scores; :meth:`apply` writes them (after the stage's checkpoint)."""
        self._told = [(number, float(score)) for number, score in
                      zip(self._trials, scores, strict=True)]

    def pending(self) -> list[tuple[int, float]]:
        return list(getattr(self, "_told", []))

    def apply(self, told: Sequence[tuple[int, float]]) -> None:
        """Tell the storage finished trials that it still holds as running (a NaN score, a
        diverged candidate, as failed)."""
        import optuna

        study = self._study(0)
        running = {t.number for t in study.get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))}
        for number, score in told:
            if number not in running:
                continue  # told before the job was killed
            if math.isfinite(score):
                study.tell(number, score)
            else:
                study.tell(number, state=optuna.trial.TrialState.FAIL)
        self._told = []
