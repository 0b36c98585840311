"""Progress lines of long shards: the reporter, and each CPU-testable target's use of it."""

from __future__ import annotations

import io
import re
import time
from types import SimpleNamespace

import numpy as np
import pytest

from brainsweep import simulate
from brainsweep.progress import Progress, watch


def test_lines_give_share_elapsed_and_time_left():
    out = io.StringIO()
    report = Progress(1_000_000, label="numba", stream=out, interval_s=0.0)
    report.started -= 30.0  # as if 30 s had passed
    report.update(250_000)
    report.finish()
    first, last = out.getvalue().splitlines()
    assert first.startswith("numba: 25 % of 1 000 000 sim-steps, 30 s elapsed")
    # 30 s for a quarter: about 90 s left
    assert re.search(r"about 1 min 30 s left$", first), first
    assert last.startswith("numba: 100 % of 1 000 000 sim-steps") and "left" not in last


def test_lines_are_rate_limited_but_the_last_is_always_written():
    out = io.StringIO()
    report = Progress(100, label="x", stream=out, interval_s=3600.0)
    for done in range(0, 101, 10):
        report.update(done)
    report.finish()
    assert len(out.getvalue().splitlines()) == 2  # the first update and the final line


def test_watcher_reads_a_counter_while_work_runs():
    out = io.StringIO()
    counter = [0]
    report = Progress(10, label="w", stream=out, interval_s=0.0)
    stop = watch(report, lambda: counter[0], poll_s=0.01)
    for k in range(1, 11):
        counter[0] = k
        time.sleep(0.03)
    stop()
    shares = [int(line.split()[1]) for line in out.getvalue().splitlines()]
    assert shares == sorted(shares) and shares[-1] == 100 and len(shares) >= 3


CONN = SimpleNamespace(weights=np.array([[0.0, 1.0], [0.5, 0.0]]),
                       lengths=np.array([[0.0, 12.0], [12.0, 0.0]]))


@pytest.mark.parametrize("target", ["numba", "opencl"])
def test_a_target_reports_progress_and_results_do_not_change(target, capsys):
    if target == "opencl":
        pytest.importorskip("pyopencl")
        from brainsweep.backends import get_target

        if not get_target("opencl").available()[0]:
            pytest.skip("no OpenCL device")
    common = dict(target=target, n_steps=3000, params={"speed": [3.0, 6.0, 9.0]},
                  monitors=("tavg",), stochastic=True, seed=2)
    quiet = simulate.run(CONN, "montbrio", **common)
    assert capsys.readouterr().err == ""
    loud = simulate.run(CONN, "montbrio", progress=True, **common)
    lines = capsys.readouterr().err.splitlines()
    assert lines and lines[-1].startswith(f"{target}: 100 % of 9 000 sim-steps"), lines
    np.testing.assert_array_equal(quiet.tavg, loud.tavg)


def test_a_terminal_gets_a_bar_and_a_log_gets_lines():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    bar = Terminal()
    report = Progress(1000, label="shard 1 of 4 (2 simulations x 500 steps, numba)",
                      stream=bar, interval_s=3600.0)
    report.update(500)
    report.finish()
    text = bar.getvalue()
    assert "\r" in text and "shard 1 of 4" in text and "1.00k/1.00k" in text
    log = io.StringIO()  # not a terminal: plain lines, no carriage returns
    report = Progress(1000, label="shard 1 of 4", stream=log, interval_s=0.0)
    report.update(500)
    report.finish()
    assert "\r" not in log.getvalue()
    assert log.getvalue().splitlines()[-1].startswith("shard 1 of 4: 100 % of 1 000 sim-steps")
