"""Bad optimise settings: one clear line naming the key, a non-zero exit, no output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from optimise_problem import settings

from brainsweep.errors import InputError
from brainsweep.optimise.settings import validate_settings
from brainsweep.optimise.stage import Settings

CLI = [sys.executable, "-c", "import sys; from brainsweep.cli import main; sys.exit(main())"]

BAD = {
    "unknown free parameter": ({"parameters": {"nope": [0.0, 1.0]}},
                               "optimise.parameters.nope", "unknown free parameter"),
    "inverted bounds": ({"parameters": {"global_coupling": [1.0, 0.3]}},
                        "optimise.parameters.global_coupling", "inverted"),
    "bounds outside the model's range": ({"parameters": {"w": [0.5, 1.5]}},
                                         "optimise.parameters.w", "outside the model's range"),
    "non-positive speed": ({"parameters": {"speed": [0.0, 4.0]}},
                           "optimise.parameters.speed", "positive"),
    "zero budget": ({"budget": 0}, "optimise.budget", "at least one"),
    "population above the budget": ({"budget": 6, "population": 8}, "optimise.population",
                                    "larger than the budget"),
    "unknown method": ({"method": "annealing"}, "optimise.method", "unknown method"),
    "unknown metric": ({"objective": {"fc_cor": 1.0}}, "optimise.objective.fc_cor",
                       "unknown metric"),
    "fcd_ks without FCD": ({"objective": {"fcd_ks": 1.0}}, "optimise.objective.fcd_ks",
                           "bold.fcd is null"),
    "unknown key": ({"budjet": 10}, "optimise.budjet", "unknown key"),
    "validation above the budget": ({"budget": 8, "validate": {"top": 9, "seeds": 4}},
                                    "optimise.validate.top", "budget of 8"),
    "validation without seeds": ({"validate": {"top": 2}}, "optimise.validate.seeds",
                                 "missing key"),
    "validation with zero seeds": ({"validate": {"top": 2, "seeds": 0}},
                                   "optimise.validate.seeds", "integer >= 1"),
    "validation not a mapping": ({"validate": 3}, "optimise.validate", "expected null"),
    "common noise not a boolean": ({"common_noise": "yes"}, "optimise.common_noise",
                                   "expected true or false"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_settings_name_their_key(case):
    change, key, words = BAD[case]
    with pytest.raises(InputError) as error:
        Settings.from_mapping(settings(**change))
    assert error.value.field == key
    assert words in str(error.value)


def test_budget_sets_the_generations():
    checked = validate_settings({"parameters": {"global_coupling": [0.1, 1.0]}, "budget": 20,
                                 "population": 6})
    assert checked["generations"] == 3  # whole generations only: 18 of the 20 candidates


@pytest.mark.parametrize("case", ["unknown free parameter", "zero budget",
                                  "population above the budget"])
def test_the_command_fails_with_one_line_and_writes_nothing(case, problem_files, tmp_path):
    change, key, _ = BAD[case]
    connectome, empirical = problem_files
    out = tmp_path / "optimise" / "jobs" / "job-0.csv"
    done = subprocess.run(
        [*CLI, "optimise", "--settings", json.dumps(settings(**change)), "--connectome",
         str(connectome), "--empirical", str(empirical), "--job", "0", "--out", str(out)],
        capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and f"[{key}]" in lines[0]
    assert not (tmp_path / "optimise").exists()


def test_random_search_draws_within_the_box_and_repeats(problem_files, tmp_path):
    """Optuna's random sampler (the baseline): candidates inside the bounds (a log axis
    among them), and the same draws from the same seed in a fresh storage."""
    import pandas as pd

    from brainsweep.optimise.stage import run_job

    connectome, empirical = problem_files
    box = {"global_coupling": [0.3, 1.0], "speed": {"low": 1.0, "high": 16.0, "log": True}}
    runs = [pd.read_csv(run_job(settings(method="random", parameters=box, budget=4,
                                         population=4, seeds=1), connectome, empirical, 0,
                                tmp_path / str(k) / "jobs" / "job-0.csv"))
            for k in range(2)]
    pd.testing.assert_frame_equal(runs[0], runs[1])
    assert runs[0]["global_coupling"].between(0.3, 1.0).all()
    assert runs[0]["speed"].between(1.0, 16.0).all()
