"""The shard stage: one shard of a study's grid → ``results/sims/{study}/shard-{i}.npz``.

It sits above the study layer (its settings are :class:`brainsweep.study.SimulateSettings`)
and runs the engine (:mod:`brainsweep.simulate`); the engine never imports it. The rule
``simulate_shard`` runs it with the kernel file the rule ``generate_kernel`` wrote.
"""

from brainsweep.simulate_stage.stage import SECTIONS, SimulateSettings, run_stage

__all__ = ["SECTIONS", "SimulateSettings", "run_stage"]
