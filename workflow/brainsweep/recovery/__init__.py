"""Parameter recovery: plant a ground truth, fit it back, measure the error in grid steps.

A recovery study simulates one parameter set (the *truth*) with its own noise seed, treats the
FC of that simulation as empirical data and sweeps the study's grid with the study's seed. The
fit is a recovery when the best-scoring grid point lies within ``tolerance_steps`` grid steps
of the truth along every planted axis. The workflow pieces:

* ``recovery:`` in the config (:func:`validate_settings`): the truth, its seed, replicas;
* :func:`truth_settings`: the simulate stage's settings for the truth (a one-row table sweep,
  the truth's seed, one shard), written to ``results/truth/{study}.npz``
  (:func:`truth_path`) by the rule ``simulate_truth``;
* the empirical stage reads that shard with ``format: simulated``
  (:mod:`brainsweep.empirical`) and carries the truth in its output;
* :func:`run_stage` (``brainsweep recovery``, the rule ``evaluate_recovery``): ``scores.csv``
  + the empirical output → ``results/fit/{study}/recovery.json`` and a landscape figure with
  the truth marked, each with a provenance sidecar.

Example
-------
>>> import pandas as pd
>>> scores = pd.DataFrame({"sim_index": range(4), "global_coupling": [1, 1, 2, 2],
...                        "speed": [2, 4, 2, 4], "diverged": False,
...                        "fc_corr": [0.1, 0.2, 0.9, 0.3]})
>>> report = evaluate(scores, {"global_coupling": 2.0, "speed": 4.0}, metric="fc_corr")
>>> report["axes"]["speed"]["error_steps"], report["recovered"]
(1.0, True)
"""

from __future__ import annotations

from brainsweep.recovery.stage import (
    RECOVERY_DEFAULTS,
    Settings,
    evaluate,
    plot_landscape,
    plot_profile,
    run,
    run_stage,
    truth_path,
    truth_settings,
    validate_settings,
)

__all__ = [
    "RECOVERY_DEFAULTS",
    "Settings",
    "evaluate",
    "plot_landscape",
    "plot_profile",
    "run",
    "run_stage",
    "truth_path",
    "truth_settings",
    "validate_settings",
]
