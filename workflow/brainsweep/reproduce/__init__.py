"""Published figures reproduced as workflow targets (issue 8): measure, keep the numbers, plot.

``brainsweep reproduce --config config/studies/<study>.yaml --out-dir DIR`` (or the
Snakemake target of that study) runs one figure's measurements (:mod:`.figures`), writes them
as CSV with a record of the machine (:mod:`.machine`), and draws the figure from the CSV
(:mod:`.plots`). See ``docs/reproductions.md``.
"""

from brainsweep.reproduce.settings import FIGURES, ModelCase, ReproduceSettings, parse_settings
from brainsweep.reproduce.stage import output_paths, run_stage

__all__ = ["FIGURES", "ModelCase", "ReproduceSettings", "output_paths", "parse_settings",
           "run_stage"]
