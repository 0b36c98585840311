"""Collect the anchor run's records into one markdown table (and JSON) with brainsweep / peer.

Usage::

    python benchmarks/anchors/table.py OUT_DIR     # reads OUT_DIR/*.jsonl, writes anchors.md/json

Each timing script prints one JSON object per timed case; those lines are gathered from every
``*.jsonl`` file in the folder (partial runs still give the rows they reached). RateML rows
give the best block size of each variant; the ratio divides brainsweep's rate on the same
problem and P by the row's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PROBLEMS = {
    "kuramoto": "Kuramoto, TVB 68 regions, stochastic Euler, 16 speeds 1-10 m/s, float32",
    "montbrio": "MontbrioPazoRoxin, 68 regions, stochastic Heun, one speed (3 m/s), float32",
}
TARGETS = {"cuda": "CUDA", "opencl": "OpenCL", "numba": "Numba"}
INCLUDES = {
    "brainsweep": "uploads, every launch, final sync (`run_s`); output copy excluded",
    "rateml": "launches of 10 steps on one stream, final sync; tavg copies excluded",
    "vbjax": "jitted vmapped 100-step chunks (noise draw, state output), block_until_ready",
}


def read_records(folder: Path) -> list[dict]:
    records = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
    return records


def rows(records: list[dict]) -> list[dict]:
    """One row per engine variant, problem and P, brainsweep's first."""
    ours = {(r["model"], r["n_sims"]): r for r in records
            if r["engine"] == "brainsweep" and "sim_steps_per_s" in r}
    table = [{"engine": f"brainsweep {TARGETS.get(r['target'], r['target'])}", "model": r["model"],
              "n_sims": r["n_sims"], "n_steps": r["n_steps"], "rate": r["sim_steps_per_s"],
              "source": "brainsweep"} for r in ours.values()]
    best: dict[tuple, dict] = {}
    for r in records:
        if r["engine"] != "rateml" or "sim_steps_per_s" not in r:
            continue
        key = (r["model"], r["n_sims"], r["index"])
        if key not in best or r["sim_steps_per_s"] > best[key]["sim_steps_per_s"]:
            best[key] = r
    for (model, n_sims, index), r in best.items():
        name = "`kuramoto.c`" if model == "kuramoto" else "`montbrio_heun.c` (its constants)"
        label = (f"1-D index, 64-bit offsets, best block {r['block']}" if index == "64-bit"
                 else f"1-D index, 32-bit offsets as generated: they wrap, results wrong; "
                      f"block {r['block']}")
        table.append({"engine": f"RateML {name} ({label})",
                      "model": "kuramoto" if model == "kuramoto" else "montbrio",
                      "n_sims": n_sims, "n_steps": r["n_steps"], "rate": r["sim_steps_per_s"],
                      "source": "rateml", "rank": 0 if index == "64-bit" else 1})
    for r in records:
        if r["engine"] == "vbjax" and "sim_steps_per_s" in r:
            table.append({"engine": "vbjax (make_sdde + delay_apply, vmap, 100-step chunks)",
                          "model": r["model"], "n_sims": r["n_sims"], "n_steps": r["n_steps"],
                          "rate": r["sim_steps_per_s"], "source": "vbjax"})
    for row in table:
        mine = ours.get((row["model"], row["n_sims"]))
        row["ratio"] = (None if row["source"] == "brainsweep" or mine is None
                        else mine["sim_steps_per_s"] / row["rate"])
    order = {"kuramoto": 0, "montbrio": 1}
    return sorted(table, key=lambda r: (order[r["model"]], r["source"] != "brainsweep",
                                        r["source"], r.get("rank", 0), r["n_sims"]))


def _spaced(number: int) -> str:
    """32 768: thousands separated by a space, as the docs write them."""
    return f"{number:,}".replace(",", " ")


def markdown(table: list[dict], failures: list[dict]) -> str:
    lines = ["| engine | problem | P | steps | M sim-steps/s | brainsweep / peer |",
             "|---|---|---|---|---|---|"]
    for r in table:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        lines.append(f"| {r['engine']} | {PROBLEMS[r['model']]} | {_spaced(r['n_sims'])} | "
                     f"{_spaced(r['n_steps'])} | {r['rate'] / 1e6:.4g} | {ratio} |")
    lines += ["", "What each timing includes (P simulations x steps, device synchronised):", ""]
    lines += [f"- {engine}: {text}" for engine, text in INCLUDES.items()]
    for f in failures:
        lines.append(f"- not timed: {f['engine']} {f['model']} P = {f['n_sims']}: {f['error']}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    folder = Path((argv or sys.argv[1:])[0])
    records = read_records(folder)
    table = rows(records)
    failures = [r for r in records if "error" in r]
    text = markdown(table, failures)
    (folder / "anchors.md").write_text(text)
    (folder / "anchors.json").write_text(json.dumps({"rows": table, "records": records},
                                                    indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
