"""The report's pages that are not figures (brainsweep.report): the configuration as run and
the scores table."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from brainsweep.report.config_page import write_config
from brainsweep.report.tables import column_unit, scores_table_html
from brainsweep.study.schema import fill_defaults

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "config" / "studies" / "tiny.yaml"


def test_config_as_run_reads_back_as_the_same_study(tmp_path):
    study = yaml.safe_load(TINY.read_text())
    filled = fill_defaults(study)
    written = write_config(filled, tmp_path / "tiny.yaml", tmp_path / "tiny.html")
    assert [path.name for path in written] == ["tiny.yaml", "tiny.html"]
    again = yaml.safe_load((tmp_path / "tiny.yaml").read_text())
    assert again == filled and fill_defaults(again) == filled
    # sections in the schema's order, as study files are written
    keys = list(again)
    assert keys[:3] == ["study", "title", "description"]
    assert keys.index("connectome") < keys.index("model") < keys.index("figures")
    page = (tmp_path / "tiny.html").read_text()
    assert "global_coupling: [18.0, 24.0]" in page and "<pre>" in page


def test_study_config_stage_from_the_command_line(tmp_path):
    """`brainsweep study-config --settings <study file>`: the schema's defaults filled in;
    a config the schema refuses exits 2 naming the key and writes nothing."""
    out = tmp_path / "tiny.yaml"
    done = subprocess.run([sys.executable, "-m", "brainsweep.cli", "study-config",
                           "--settings", str(TINY), "--out", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    written = yaml.safe_load(out.read_text())
    # the study's own keys kept, the schema's defaults filled in beside them
    assert written["fit"] == {"metric": "fc_corr", "degenerate": {"max_mean_fc_excess": None}}
    assert written["simulation"]["realisations"] == 1
    assert Path(f"{out}.json").is_file()
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.read_text().replace("dt: 0.144", "dt: -0.1"))
    refused = subprocess.run([sys.executable, "-m", "brainsweep.cli", "study-config",
                              "--settings", str(bad), "--out", str(tmp_path / "no.yaml")],
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "dt" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "no.yaml").exists()


def test_scores_table_shows_units_and_marks_best_and_diverged(tmp_path):
    table = pd.DataFrame({
        "sim_index": [0, 1, 2], "global_coupling": [0.1, 0.2, 0.3], "speed": [3.0, 3.0, 6.0],
        "tau": [10.0, 12.0, 10.0], "seed": [42, 42, 42], "diverged": [False, False, True],
        "fc_corr": [0.21, 0.35, float("nan")], "fcd_ks": [0.4, 0.3, float("nan")],
        "fc_corr_101309": [0.2, 0.3, float("nan")]})
    table.to_csv(tmp_path / "scores.csv", index=False)
    page = scores_table_html(tmp_path / "scores.csv", tmp_path / "scores.html", title="Scores",
                             metric="fc_corr", units={"tau": "ms"}).read_text()
    header = re.search(r"<thead>(.*?)</thead>", page, re.S).group(1)
    for name, unit in (("speed", "m/s"), ("tau", "ms"), ("fc_corr", "Pearson r"),
                       ("fcd_ks", "KS distance, 0-1"), ("fc_corr_101309", "Pearson r")):
        assert f"{name}<span class=\"unit\">{unit}</span>" in header, name
    assert "seed<span class=\"unit\">&nbsp;</span>" in header  # a column the fit added later
    rows = re.findall(r"<tr( class=\"(\w+)\")?>(.*?)</tr>", page, re.S)[1:]
    assert [row[1] for row in rows] == ["", "best", "diverged"]
    assert "<td>0.35</td>" in rows[1][2] and "<td>–</td>" in rows[2][2]
    assert column_unit("sim_index") == ""
