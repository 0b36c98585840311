"""The optimise stage (``brainsweep optimise``): one job's subjects fitted generation by
generation; ``results/optimise/{study}/jobs/job-{j}.csv`` holds every candidate it scored.

A job takes a contiguous batch of the cohort (``optimise.jobs`` batches). Per generation it
asks every search (subject x restart) for its candidates, simulates all of them, each
``seeds`` times, as one batch (:func:`brainsweep.optimise.evaluate.run_batch`), and tells
each search the mean objective over seeds. After every generation the job's state (the
generation reached, the history, the CMA-ES objects, the Optuna scores not yet written) is
pickled atomically to ``state/job-{j}.pkl``; a rerun of a killed job continues from there
and, since every draw is seeded from (seed, subject, restart, generation), gives exactly
the result of an uninterrupted run. Optuna studies live in one SQLite file per study.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainsweep.errors import InputError
from brainsweep.io import atomic_path, load_npz, provenance, write_sidecar
from brainsweep.optimise.evaluate import Batch, Subject, run_batch
from brainsweep.optimise.search import CmaSearch, OptunaSearch, SearchSpace
from brainsweep.optimise.settings import check_bounds, validate_settings
from brainsweep.study.settings import SECTIONS, SimulateSettings

__all__ = ["Settings", "job_subjects", "run", "run_job", "state_paths"]

METRIC_COLUMNS = ("fc_corr", "fc_rmse", "mean_fc_diff", "fcd_ks")


class Settings:
    """The stage's settings: ``optimise:``, ``bold:`` and the shard stage's sections."""

    def __init__(self, mapping: Mapping[str, Any]):
        from brainsweep.bold.settings import validate_postprocess

        mapping = dict(mapping or {})
        if "optimise" not in mapping:
            raise InputError("the study has no optimise section", field="optimise")
        self.optimise = validate_settings(mapping["optimise"])
        self.bold = validate_postprocess(mapping.get("bold") or {}, prefix="bold")
        sections = {key: mapping[key] for key in SECTIONS if key in mapping}
        # the optimiser proposes its own rows; the shard sections want a sweep: one point
        sections.setdefault("sweep", {"speed": 1.0})
        self.simulate = SimulateSettings.from_sections(sections)
        model = self.simulate.model.load()
        check_bounds(self.optimise["parameters"], model, self.simulate.coupling.load())
        if "fcd_ks" in self.optimise["objective"] and self.bold["fcd"] is None:
            raise InputError("the objective weighs fcd_ks but bold.fcd is null: no FCD is "
                             "computed", field="optimise.objective.fcd_ks")
        self.given = mapping

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Settings:
        return cls(mapping)

    def as_dict(self) -> dict[str, Any]:
        simulate = self.simulate.as_dict()
        return {**{key: simulate[key] for key in SECTIONS}, "optimise": self.optimise,
                "bold": self.bold}

    def fingerprint(self) -> str:
        """Hash of everything a job's result depends on (a stale state is not resumed)."""
        text = json.dumps(self.as_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def state_paths(out: str | os.PathLike, job: int) -> dict[str, Path]:
    """A job's resumable state beside its output folder: ``state/job-{j}.pkl`` and the
    study's Optuna file ``state/optuna.sqlite3`` (``results/optimise/{study}/state/``)."""
    root = Path(out).parent.parent / "state"
    return {"checkpoint": root / f"job-{int(job)}.pkl", "optuna": root / "optuna.sqlite3"}


def _cohort(empirical: Mapping[str, np.ndarray], wanted, source: str) -> list[dict[str, Any]]:
    """The subjects to fit, in the empirical file's order: id, FC, FCD values."""
    ids = [str(s) for s in empirical["subject_ids"]]
    has_fcd = "fcd_values" in empirical and empirical["fcd_values"].size > 0
    if wanted == "group":
        fcd = empirical["fcd_values"].astype(np.float64) if has_fcd else None
        return [{"ident": "group", "fc": empirical["fc_group"], "fcd": fcd}]
    chosen = ids if wanted == "all" else list(wanted)
    missing = [s for s in chosen if s not in ids]
    if missing:
        raise InputError(f"subject(s) {missing} are not in the empirical data ({ids})",
                         source=source, field="optimise.subjects")
    out = []
    for ident in chosen:
        s = ids.index(ident)
        fcd = None
        if has_fcd:
            lo, hi = empirical["fcd_offsets"][s], empirical["fcd_offsets"][s + 1]
            fcd = empirical["fcd_values"][lo:hi].astype(np.float64)
        out.append({"ident": ident, "fc": empirical["fc_subjects"][s], "fcd": fcd})
    return out


def job_subjects(n_subjects: int, jobs: int, job: int) -> np.ndarray:
    """Cohort positions of job ``job``'s subjects (contiguous, as even as possible)."""
    if not 0 <= job < jobs:
        raise InputError(f"job {job} is not in 0..{jobs - 1}", field="job")
    return np.array_split(np.arange(n_subjects), jobs)[job]


def _structures(connectome: str, cohort, structural: str):
    conn = load_npz(connectome)
    for key in ("weights", "lengths"):
        if key not in conn:
            raise InputError(f"missing array {key!r}", source=connectome, field=key)
    if structural == "group":
        if conn["weights"].ndim != 2:
            raise InputError("expected one (N, N) connectome for structural: group",
                             source=connectome, field="weights")
        return [(conn["weights"], conn["lengths"])] * len(cohort)
    if conn["weights"].ndim != 3 or "subject_ids" not in conn:
        raise InputError("structural: subject needs a per-subject stack (the connectome "
                         "stage with average: none)", source=connectome, field="weights")
    ids = [str(s) for s in conn["subject_ids"]]
    out = []
    for item in cohort:
        if item["ident"] not in ids:
            raise InputError(f"subject {item['ident']} has no structural connectome "
                             f"(the stack holds {ids})", source=connectome,
                             field="subject_ids")
        s = ids.index(item["ident"])
        out.append((conn["weights"][s], conn["lengths"][s]))
    return out


def _new_searches(settings: Settings, positions, storage: Path, fingerprint: str, study: str):
    opt = settings.optimise
    space = SearchSpace(opt["parameters"])
    searches = {}
    for position in positions:
        for restart in range(opt["restarts"]):
            key = (opt["seed"], int(position), restart)
            if opt["method"] == "cmaes":
                searches[(int(position), restart)] = CmaSearch(
                    space, population=opt["population"], sigma0=opt["sigma0"], key=key)
            else:
                searches[(int(position), restart)] = OptunaSearch(
                    space, method=opt["method"], storage=str(storage),
                    name=f"{study}-{fingerprint[:8]}/subject-{position}/restart-{restart}",
                    key=key, population=opt["population"])
    return searches


def _log(message: str) -> None:
    print(f"[optimise] {message}", file=sys.stderr, flush=True)


def _save_state(path: Path, state: Mapping[str, Any]) -> None:
    with atomic_path(path, suffix=".pkl") as tmp:
        with open(tmp, "wb") as handle:
            pickle.dump(dict(state), handle, protocol=pickle.HIGHEST_PROTOCOL)


def _load_state(path: Path, fingerprint: str) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    with open(path, "rb") as handle:
        state = pickle.load(handle)
    if state.get("fingerprint") != fingerprint:
        _log(f"{path}: made with other settings; starting afresh")
        return None
    return state


def run_job(settings: Settings | Mapping[str, Any], connectome: str | os.PathLike,
            empirical: str | os.PathLike, job: int, out: str | os.PathLike, *,
            kernel: str | os.PathLike | None = None, study: str = "study") -> Path:
    """Fit job ``job``'s subjects; write ``out`` (CSV, one row per candidate) atomically
    with a provenance sidecar. Resumes from the job's checkpoint when there is one."""
    from brainsweep.fit.stage import read_empirical

    parsed = settings if isinstance(settings, Settings) else Settings.from_mapping(settings)
    opt = parsed.optimise
    source = None
    if kernel is not None:
        from brainsweep.simulate_stage.stage import _read_kernel

        source = _read_kernel(kernel, parsed.simulate.kernel.spec(
            target=parsed.simulate.simulation.target), parsed.simulate.simulation.target)
    data = read_empirical(empirical)
    cohort = _cohort(data, opt["subjects"], os.fspath(empirical))
    positions = job_subjects(len(cohort), opt["jobs"], int(job))
    structures = _structures(os.fspath(connectome), cohort, opt["structural"])
    subjects = [Subject(cohort[p]["ident"], np.asarray(cohort[p]["fc"], np.float64),
                        cohort[p]["fcd"], *structures[p]) for p in positions]
    local = {int(p): k for k, p in enumerate(positions)}

    population, seeds, restarts = opt["population"], opt["seeds"], opt["restarts"]
    generations, common = opt["generations"], opt["common_noise"]
    search_keys = ((len(cohort) * restarts * generations) * population) * seeds
    last_index = search_keys
    validation = opt["validate"]
    if validation:
        # the re-simulations' noise keys follow every search's (_validate)
        last_index += len(cohort) * restarts * validation["top"] * validation["seeds"]
    if last_index >= 2**32:
        raise InputError(f"{last_index} simulations exceed the 2**32 noise keys",
                         field="optimise.budget")
    names = SearchSpace(opt["parameters"]).names
    fingerprint = parsed.fingerprint()
    paths = state_paths(out, job)
    paths["checkpoint"].parent.mkdir(parents=True, exist_ok=True)
    state = _load_state(paths["checkpoint"], fingerprint)
    if state is None:
        state = {"fingerprint": fingerprint, "generation": 0, "history": [],
                 "searches": _new_searches(parsed, positions, paths["optuna"], fingerprint,
                                           study),
                 "pending": {}, "timings": []}
    else:
        _log(f"resuming job {job} at generation {state['generation']} of {generations}")
    searches = state["searches"]
    for key, search in searches.items():
        if isinstance(search, OptunaSearch):
            search.apply(state["pending"].get(key, []))
            abandoned = search.abandon_running()
            if abandoned:
                _log(f"subject {key[0]} restart {key[1]}: {abandoned} trial(s) of a killed "
                     "run marked failed")
    state["pending"] = {}

    for generation in range(state["generation"], generations):
        started = time.perf_counter()
        owners, params, indices, keys = [], [], [], []
        for key in sorted(searches):
            position, restart = key
            candidates = searches[key].ask(generation)
            for c, values in enumerate(candidates):
                # common_noise: every candidate of the generation takes candidate 0's keys
                first = (((position * restarts + restart) * generations + generation)
                         * population + (0 if common else c)) * seeds
                for k in range(seeds):
                    owners.append(local[position])
                    params.append(values)
                    indices.append(first + k)
                keys.append((key, c, values, first))
        batch = Batch(subjects=owners, params=np.array(params),
                      sim_index=np.array(indices, dtype=np.int64))
        table, timings = run_batch(parsed.simulate, names, batch, subjects,
                                   bold_options=parsed.bold, weights=opt["objective"],
                                   kernel_source=source, structural=opt["structural"])
        rows = []
        per_search: dict[tuple[int, int], list[float]] = {key: [] for key in searches}
        for n, (key, c, values, first) in enumerate(keys):
            row = _candidate_row(table.iloc[n * seeds:(n + 1) * seeds], names, values,
                                 subject=cohort[key[0]]["ident"], restart=key[1],
                                 generation=generation, candidate=c, first=first,
                                 noise_seed=parsed.simulate.simulation.seed)
            per_search[key].append(row["objective"])
            rows.append(row)
        for key, values in per_search.items():
            searches[key].tell(values)
        state["pending"] = {key: s.pending() for key, s in searches.items() if s.pending()}
        state["history"].extend(rows)
        state["generation"] = generation + 1
        state["timings"].append({"generation": generation, "simulations": len(indices),
                                 "wall_s": round(time.perf_counter() - started, 3),
                                 **{k: round(v, 3) for k, v in timings.items()}})
        _save_state(paths["checkpoint"], state)
        for key, told in state["pending"].items():
            searches[key].apply(told)
        best = np.nanmax([r["objective"] for r in rows]) if rows else float("nan")
        _log(f"generation {generation + 1}/{generations}: {len(indices)} simulations in "
             f"{state['timings'][-1]['wall_s']:.1f} s, best objective this generation "
             f"{best:.4f}")

    if validation and not state.get("validated"):
        started = time.perf_counter()
        rows, timings, n_sims = _validate(parsed, state["history"], cohort, searches, local,
                                          subjects, names, source, generations=generations,
                                          first_key=search_keys)
        state["history"].extend(rows)
        state["validated"] = True
        state["timings"].append({"generation": "validate", "simulations": n_sims,
                                 "wall_s": round(time.perf_counter() - started, 3),
                                 **{k: round(v, 3) for k, v in timings.items()}})
        _save_state(paths["checkpoint"], state)
        _log(f"validation: the top {validation['top']} of each search re-simulated with "
             f"{validation['seeds']} fresh seeds ({n_sims} simulations)")

    history = pd.DataFrame(state["history"])
    if validation:
        history["phase"] = history["phase"].fillna("search") if "phase" in history \
            else "search"
    record = provenance(inputs={"connectome": connectome, "empirical": empirical},
                        config=parsed.as_dict(), stage="optimise", job=int(job),
                        subjects=[s.ident for s in subjects], method=opt["method"],
                        target=parsed.simulate.simulation.target,
                        simulations=int(sum(t["simulations"] for t in state["timings"])),
                        generations=state["timings"])
    path = Path(out)
    with atomic_path(path) as tmp:
        history.to_csv(tmp, index=False)
    write_sidecar(path, record)
    return path


def _validate(parsed: Settings, history: list[dict], cohort, searches, local, subjects,
              names, source, *, generations: int, first_key: int):
    """Each search's top candidates simulated again with fresh noise, in one batch.

    The best of many candidates scored with a few noise realisations is biased upwards
    (it is partly the luck of the draw); re-simulating the top few with ``validate.seeds``
    realisations no search saw gives an unbiased score to choose by. The rows carry
    ``phase: validate``, ``generation`` one past the last, ``candidate`` the rank (0 best)
    and the searched candidate's own score in ``search_objective``.
    """
    opt = parsed.optimise
    top, seeds = opt["validate"]["top"], opt["validate"]["seeds"]
    restarts = opt["restarts"]
    owners, params, indices, keys = [], [], [], []
    for key in sorted(searches):
        position, restart = key
        ident = cohort[position]["ident"]
        mine = [r for r in history if r["subject"] == ident and r["restart"] == restart
                and np.isfinite(r["objective"])]
        # the highest scores first; ties keep the search's order (stable sort)
        ranked = sorted(mine, key=lambda r: -r["objective"])[:top]
        for rank, row in enumerate(ranked):
            # common_noise: the candidates compared share one set of realisations
            first = first_key + ((position * restarts + restart) * top
                                 + (0 if opt["common_noise"] else rank)) * seeds
            values = [row[name] for name in names]
            for k in range(seeds):
                owners.append(local[position])
                params.append(values)
                indices.append(first + k)
            keys.append((key, rank, row, first))
    if not keys:
        return [], {}, 0
    batch = Batch(subjects=owners, params=np.array(params, dtype=np.float64),
                  sim_index=np.array(indices, dtype=np.int64))
    table, timings = run_batch(parsed.simulate, names, batch, subjects,
                               bold_options=parsed.bold, weights=opt["objective"],
                               kernel_source=source, structural=opt["structural"])
    rows = []
    for n, (key, rank, searched, first) in enumerate(keys):
        replicas = table.iloc[n * seeds:(n + 1) * seeds]
        row = _candidate_row(replicas, names, [searched[name] for name in names],
                             subject=searched["subject"], restart=key[1],
                             generation=generations, candidate=rank, first=first,
                             noise_seed=parsed.simulate.simulation.seed)
        row.update({"phase": "validate", "search_objective": float(searched["objective"]),
                    "objective_se": float(replicas["objective"].std(ddof=1) / np.sqrt(seeds))
                    if seeds > 1 else float("nan")})
        rows.append(row)
    return rows, timings, len(indices)


def _candidate_row(replicas: pd.DataFrame, names, values, *, subject: str, restart: int,
                   generation: int, candidate: int, first: int, noise_seed: int) -> dict:
    """One history row: a candidate's scores, each the mean over its seeds' simulations
    (``replicas``, the batch table's rows first .. first + seeds - 1)."""
    # a candidate that diverged in any seed scores NaN: it never wins
    value = float(replicas["objective"].mean()) if replicas["objective"].notna().all() \
        else float("nan")
    row = {"subject": subject, "restart": restart, "generation": generation,
           "candidate": candidate,
           **{name: float(v) for name, v in zip(names, values, strict=True)},
           "noise_seed": noise_seed, "sim_index": first, "seeds": len(replicas),
           "objective": value, "n_diverged": int(replicas["diverged"].sum())}
    for metric in METRIC_COLUMNS:
        if metric in replicas:
            row[metric] = float(replicas[metric].mean())
    return row


def run(settings: Settings, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Path:
    """The stage contract: connectome, empirical, kernel, job -> ``outputs["out"]``."""
    return run_job(settings, inputs["connectome"], inputs["empirical"], inputs["job"],
                   outputs["out"], kernel=inputs.get("kernel"),
                   study=inputs.get("study") or "study")
