"""The interactive landscape's data and page (brainsweep.figures.interactive), and the page in
a real browser: it loads without console errors, draws the landscape the scores give, a click
on a cell shows that simulation's FC, and the menus hold a parameter fixed."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from brainsweep.bold.connectivity import upper_triangle
from brainsweep.errors import InputError
from brainsweep.figures import interactive
from brainsweep.figures.interactive import landscape_data, write_landscape
from browser import chromium, console_errors, wait_for

# interleaved as AAL2 is; drawn left first: X_L, Y_L, Z_L, X_R, Y_R, Z_R
LABELS = ["X_L", "X_R", "Y_L", "Y_R", "Z_L", "Z_R"]
HEMISPHERE_ORDER = [0, 2, 4, 1, 3, 5]


def random_fcs(rng, indices) -> dict[int, np.ndarray]:
    """A symmetric random 6 x 6 "FC" with unit diagonal per simulation index."""
    fcs = {}
    for index in indices:
        noise = rng.uniform(-1, 1, (6, 6))
        matrix = np.clip((noise + noise.T) / 2, -1, 1)
        np.fill_diagonal(matrix, 1.0)
        fcs[int(index)] = matrix
    return fcs


def sweep() -> tuple[pd.DataFrame, dict[int, np.ndarray], np.ndarray]:
    """A 3 x 2 x 2 sweep over a, b, c with a seed column, flags and per-subject scores; the
    cell a=0.3, b=2 diverged entirely, simulation 4 is degenerate."""
    rng = np.random.default_rng(3)
    rows = [(a, b, c) for a in (0.1, 0.2, 0.3) for b in (1.0, 2.0) for c in (5.0, 7.0)]
    table = pd.DataFrame(rows, columns=["a", "b", "c"])
    table.insert(0, "sim_index", np.arange(len(table)))
    table["seed"] = 42
    table["diverged"] = (table["a"] == 0.3) & (table["b"] == 2.0)
    table["degenerate"] = table["sim_index"] == 4
    table["fc_corr"] = rng.uniform(-0.2, 0.6, len(table)).round(6)
    table["fc_rmse"] = rng.uniform(0.1, 0.5, len(table)).round(6)
    table.loc[table["diverged"], ["fc_corr", "fc_rmse"]] = np.nan
    table["fc_corr_s1"] = (table["fc_corr"] - 0.05).round(6)
    table["fc_corr_s2"] = (table["fc_corr"] + 0.05).round(6)
    fcs = random_fcs(rng, table["sim_index"])
    emp = np.corrcoef(rng.standard_normal((6, 50)))
    return table, fcs, emp


def test_columns_are_read_by_role_whatever_the_fit_writes():
    table, fcs, emp = sweep()
    data = landscape_data(table, fcs, emp, labels=LABELS, metric="fc_corr", study="s")
    roles = data["roles"]
    assert roles["swept"] == ["a", "b", "c"]
    assert roles["metrics"] == ["fc_corr", "fc_rmse"]
    assert roles["subjects"] == ["fc_corr_s1", "fc_corr_s2"]
    assert roles["flags"] == ["diverged", "degenerate"] and roles["other"] == ["seed"]
    assert data["higher_is_better"] == {"fc_corr": True, "fc_rmse": False,
                                        "fc_corr_s1": True, "fc_corr_s2": True}
    assert data["axes"] == ["a", "b"]
    # NaN scores travel as null, so the page's JSON is strict
    assert data["columns"]["fc_corr"][10] is None
    json.dumps(data, allow_nan=False)


def test_fc_is_stored_in_hemisphere_order():
    table, fcs, emp = sweep()
    data = landscape_data(table, fcs, emp, labels=LABELS, metric="fc_corr", study="s")
    assert data["regions"] == [LABELS[i] for i in HEMISPHERE_ORDER]
    assert data["hemisphere_break"] == 3
    ordered = fcs[5][np.ix_(HEMISPHERE_ORDER, HEMISPHERE_ORDER)]
    np.testing.assert_allclose(data["fc"]["5"], upper_triangle(ordered), atol=5e-4)
    assert data["fc"]["5"][0] == pytest.approx(fcs[5][0, 2], abs=5e-4)  # X_L - Y_L
    np.testing.assert_allclose(
        data["empirical_fc"], upper_triangle(emp[np.ix_(HEMISPHERE_ORDER, HEMISPHERE_ORDER)]),
        atol=5e-4)


def test_only_the_best_simulations_keep_their_fc_when_not_all_fit(monkeypatch):
    table, fcs, emp = sweep()
    monkeypatch.setattr(interactive, "MAX_STORED_VALUES", 3 * 15)  # 15 pairs of 6 regions
    data = landscape_data(table, fcs, emp, labels=LABELS, metric="fc_rmse", study="s")
    finite = table[~table["diverged"]]
    lowest = finite.nsmallest(3, "fc_rmse")["sim_index"]
    assert sorted(map(int, data["fc"])) == sorted(lowest.tolist()) and data["fc_stored"] == 3


def test_bad_input_is_named():
    table, fcs, emp = sweep()
    with pytest.raises(InputError, match="figures.metric"):
        landscape_data(table, fcs, emp, labels=LABELS, metric="fcd_ks", study="s")
    with pytest.raises(InputError, match="5 region labels for 6 regions"):
        landscape_data(table, fcs, emp, labels=LABELS[:5], metric="fc_corr", study="s")


def test_page_is_self_contained(tmp_path):
    table, fcs, emp = sweep()
    data = landscape_data(table, fcs, emp, labels=LABELS, metric="fc_corr", study="s")
    page = write_landscape(data, tmp_path / "landscape.html").read_text()
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"?https?:", page)
    assert "Plotly" in page and "plotly.js" in page  # the library itself is inline
    found = re.search(r'<script type="application/json" id="landscape-data">(.*?)</script>',
                      page, re.S)
    assert json.loads(found.group(1)) == json.loads(json.dumps(data))


def best_grid(table: pd.DataFrame, metric: str = "fc_corr") -> pd.DataFrame:
    """The landscape over a (x) and b (y), the best over c, as pandas computes it."""
    return table[~table["diverged"]].groupby(["b", "a"])[metric].max().unstack("a")


def landscape_z(browser) -> np.ndarray:
    z = browser.execute_script(
        "return document.getElementById('landscape').data[0].z;")
    return np.array([[np.nan if v is None else v for v in row] for row in z])


def click_cell(browser, column: int, row: int, columns: int, rows: int) -> None:
    """A real mouse click on the centre of a landscape cell (category axes: equal cells)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    area = browser.find_element(By.CSS_SELECTOR, "#landscape .nsewdrag")
    width, height = area.size["width"], area.size["height"]
    x = (column + 0.5) / columns * width - width / 2
    y = (1 - (row + 0.5) / rows) * height - height / 2
    ActionChains(browser).move_to_element_with_offset(area, int(x), int(y)).click().perform()


def test_page_in_a_browser_draws_clicks_and_holds(tmp_path):
    table, fcs, emp = sweep()
    data = landscape_data(table, fcs, emp, labels=LABELS, metric="fc_corr", study="s")
    page = write_landscape(data, tmp_path / "landscape.html")
    with chromium(1500, 1100) as browser:
        browser.get(page.as_uri())
        wait_for(browser, "document.body.dataset.ready === 'true'")
        assert console_errors(browser) == []
        # the landscape over a x b, best over c; the diverged cell empty and marked
        expected = best_grid(table)
        np.testing.assert_allclose(landscape_z(browser), expected.to_numpy(), equal_nan=True)
        marks = browser.execute_script(
            "return document.getElementById('landscape').data.slice(1)"
            ".map(t => [t.name, t.x, t.y]);")
        assert ["every simulation diverged", ["0.3"], ["2"]] in marks
        # the page opens on the best simulation
        best = int(table.loc[table["fc_corr"].idxmax(), "sim_index"])
        assert browser.execute_script(
            "return document.getElementById('fc').dataset.simIndex;") == str(best)

        # a click on the cell a=0.2, b=1 shows that cell's best simulation and its FC
        cell = table[(table["a"] == 0.2) & (table["b"] == 1.0)]
        chosen = int(cell.loc[cell["fc_corr"].idxmax(), "sim_index"])
        click_cell(browser, column=1, row=0, columns=3, rows=2)
        wait_for(browser, f"document.getElementById('fc').dataset.simIndex === '{chosen}'")
        shown = np.array(browser.execute_script(
            "return document.getElementById('fc').data[0].z;"), dtype=float)
        ordered = fcs[chosen][np.ix_(HEMISPHERE_ORDER, HEMISPHERE_ORDER)]
        np.testing.assert_allclose(shown, ordered, atol=5e-4)
        details = browser.find_element("id", "details").text
        subject = float(table.loc[chosen, "fc_corr_s2"])
        assert f"Simulation {chosen}" in details and f"{subject:.4g}" in details

        # hold c at 7 instead of the best over it
        from selenium.webdriver.support.ui import Select

        Select(browser.find_element("id", "held-c")).select_by_visible_text("c = 7")
        held = best_grid(table[table["c"] == 7.0])
        np.testing.assert_allclose(landscape_z(browser), held.to_numpy(), equal_nan=True)
        # at c = 5 the cell a=0.2, b=1 is simulation 4 alone, which is degenerate
        Select(browser.find_element("id", "held-c")).select_by_visible_text("c = 5")
        marks = browser.execute_script(
            "return document.getElementById('landscape').data.slice(1)"
            ".map(t => [t.name, t.x, t.y]);")
        assert ["degenerate", ["0.2"], ["1"]] in marks
        Select(browser.find_element("id", "held-c")).select_by_visible_text("c = 7")
        # another metric, lower is better: the best cell moves to the lowest value
        Select(browser.find_element("id", "metric")).select_by_value("fc_rmse")
        lowest = table[(table["c"] == 7.0) & ~table["diverged"]].groupby(["b", "a"])[
            "fc_rmse"].min().unstack("a")
        np.testing.assert_allclose(landscape_z(browser), lowest.to_numpy(), equal_nan=True)
        assert console_errors(browser) == []


def point_table() -> tuple[pd.DataFrame, dict[int, np.ndarray], np.ndarray]:
    """The default study's shape: one swept parameter, one row per point with the fit's
    summaries (realisation counts, mean FC, spreads), which vary but are not parameters;
    the highest-scoring point (G 3) is degenerate."""
    rng = np.random.default_rng(5)
    g = np.array([1.0, 2.0, 3.0, 4.0])
    table = pd.DataFrame({"sim_index": [0, 4, 8, 12], "global_coupling": g, "speed": 3.0,
                          "diverged": False, "degenerate": [False, False, True, False],
                          "point": [0, 1, 2, 3], "realisations": 4, "seed": 42,
                          "n_diverged": 0, "n_degenerate": [0, 1, 3, 0],
                          "fc_corr": [0.2, 0.5, 0.6, 0.4], "combined": [0.1, 0.3, 0.35, 0.2],
                          "mean_fc": [0.2, 0.4, 0.6, 0.7], "bold_std": [1e-4, 2e-4, 3e-4, 4e-4],
                          "global_step": [1.0, 1.1, 0.9, 1.2],
                          "std_fc_corr": [0.01, 0.02, 0.03, 0.04],
                          "std_combined": [0.02, 0.01, 0.03, 0.05]})
    fcs = random_fcs(rng, table["sim_index"])
    return table, fcs, np.corrcoef(rng.standard_normal((6, 50)))


def test_the_fits_summaries_are_not_swept_parameters():
    table, fcs, emp = point_table()
    roles = landscape_data(table, fcs, emp, labels=LABELS, metric="combined",
                           study="s")["roles"]
    assert roles["swept"] == ["global_coupling"]
    assert {"point", "n_degenerate", "mean_fc", "bold_std", "global_step", "std_fc_corr",
            "std_combined"} <= set(roles["other"])


def test_the_best_cell_of_the_page_is_never_degenerate(tmp_path):
    table, fcs, emp = point_table()
    data = landscape_data(table, fcs, emp, labels=LABELS, metric="combined", study="s")
    page = write_landscape(data, tmp_path / "landscape.html")
    with chromium(1300, 1000) as browser:
        browser.get(page.as_uri())
        wait_for(browser, "document.body.dataset.ready === 'true'")
        assert console_errors(browser) == []
        marks = {name: (x, y) for name, x, y in browser.execute_script(
            "return document.getElementById('landscape').data.slice(1)"
            ".map(t => [t.name, t.x, t.y]);")}
        # G 3 scores highest but is degenerate: marked so, and the star is on G 2
        assert marks["degenerate"][0] == ["3"]
        assert marks["best cell (degenerate ones excluded)"][0] == ["2"]
        # and the FC panel opens on it
        assert browser.execute_script(
            "return document.getElementById('fc').dataset.simIndex;") == "4"
