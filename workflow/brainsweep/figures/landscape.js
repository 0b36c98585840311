// The interactive score landscape (brainsweep.figures.interactive writes it into the page with
// plotly.js and the data). Menus choose the axes, the metric and what the other swept
// parameters do; a click on a cell shows that simulation's FC beside the empirical FC.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("landscape-data").textContent);
  const cols = D.columns;
  const roles = D.roles;
  const n = D.n_simulations;
  const swept = roles.swept;
  const metrics = roles.metrics.concat(roles.subjects);
  const diverged = cols.diverged || new Array(n).fill(false);
  const degenerate = cols.degenerate || null;
  const BEST = "best";
  // the sorted values each swept parameter takes on the grid
  const grid = {};
  swept.forEach(function (p) {
    grid[p] = Array.from(new Set(cols[p])).sort(function (a, b) { return a - b; });
  });
  const state = {
    x: D.axes.length > 0 ? D.axes[0] : null,
    y: D.axes.length > 1 ? D.axes[1] : null,
    metric: D.metric,
    held: {},
    cells: null,
    selected: null,
  };
  swept.forEach(function (p) { state.held[p] = BEST; });

  function fmt(v) {
    if (v === null || v === undefined) return "\u2013";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(+v.toPrecision(4));
    return String(v);
  }

  function withUnit(p, v) {
    const unit = D.units[p];
    return p + " = " + fmt(v) + (unit && unit !== "dimensionless" ? " " + unit : "");
  }

  function select(id, label, options, value, onChange) {
    const wrap = document.createElement("label");
    wrap.textContent = label + " ";
    const menu = document.createElement("select");
    menu.id = id;
    options.forEach(function (option) {
      const item = document.createElement("option");
      item.value = option[0];
      item.textContent = option[1];
      if (String(option[0]) === String(value)) item.selected = true;
      menu.appendChild(item);
    });
    menu.addEventListener("change", function () { onChange(menu.value); });
    wrap.appendChild(menu);
    return wrap;
  }

  function buildControls() {
    const box = document.getElementById("controls");
    box.replaceChildren();
    const axes = swept.map(function (p) { return [p, D.axis_labels[p]]; });
    box.appendChild(select("x-axis", "x:", axes, state.x, function (v) {
      if (v === state.y) state.y = state.x;
      state.x = v; buildControls(); draw();
    }));
    box.appendChild(select("y-axis", "y:", [["", "(none)"]].concat(axes), state.y || "",
      function (v) {
        if (v === state.x) state.x = state.y;
        state.y = v || null; buildControls(); draw();
      }));
    box.appendChild(select("metric", "metric:", metrics.map(function (m) {
      return [m, m];
    }), state.metric, function (v) { state.metric = v; draw(); }));
    swept.forEach(function (p) {
      if (p === state.x || p === state.y) return;
      const options = [[BEST, "best over " + p]].concat(grid[p].map(function (v, i) {
        return [i, withUnit(p, v)];
      }));
      box.appendChild(select("held-" + p, p + ":", options, state.held[p], function (v) {
        state.held[p] = v === BEST ? BEST : Number(v); draw();
      }));
    });
  }

  // each cell's best simulation (by the metric's direction) among those the menus allow
  function cells() {
    const xs = state.x ? grid[state.x] : [null];
    const ys = state.y ? grid[state.y] : [null];
    const empty = function () { return ys.map(function () { return xs.map(function () { return null; }); }); };
    const z = empty(), who = empty(), total = empty(), lost = empty(), first = empty();
    const higher = D.higher_is_better[state.metric];
    const values = cols[state.metric];
    for (let r = 0; r < n; r++) {
      let allowed = true;
      for (const p of swept) {
        if (p === state.x || p === state.y || state.held[p] === BEST) continue;
        if (cols[p][r] !== grid[p][state.held[p]]) { allowed = false; break; }
      }
      if (!allowed) continue;
      const i = state.y ? ys.indexOf(cols[state.y][r]) : 0;
      const j = state.x ? xs.indexOf(cols[state.x][r]) : 0;
      total[i][j] = (total[i][j] || 0) + 1;
      if (first[i][j] === null) first[i][j] = r;
      if (diverged[r]) { lost[i][j] = (lost[i][j] || 0) + 1; continue; }
      const v = values[r];
      if (v === null) continue;
      if (z[i][j] === null || (higher ? v > z[i][j] : v < z[i][j])) { z[i][j] = v; who[i][j] = r; }
    }
    return { xs: xs, ys: ys, z: z, who: who, total: total, lost: lost, first: first };
  }

  function parameterText(r) {
    return swept.map(function (p) { return withUnit(p, cols[p][r]); }).join("<br>");
  }

  function draw() {
    const c = cells();
    state.cells = c;
    const xl = c.xs.map(fmt), yl = c.ys.map(fmt);
    const higher = D.higher_is_better[state.metric];
    const text = c.z.map(function (row, i) {
      return row.map(function (v, j) {
        const r = c.who[i][j] !== null ? c.who[i][j] : c.first[i][j];
        if (r === null) return "no simulation";
        const count = c.total[i][j];
        const lines = ["simulation " + cols.sim_index[r], parameterText(r),
          state.metric + " = " + fmt(v)];
        if (count > 1) lines.push("best of " + count + " simulations");
        if (c.lost[i][j]) lines.push(c.lost[i][j] + " of " + count + " diverged");
        roles.flags.forEach(function (f) {
          if (f !== "diverged" && cols[f][r]) lines.push(f);
        });
        return lines.join("<br>");
      });
    });
    const traces = [{
      type: "heatmap", x: xl, y: yl, z: c.z, text: text, hovertemplate: "%{text}<extra></extra>",
      colorscale: "Viridis", reversescale: !higher, hoverongaps: true,
      colorbar: { title: { text: state.metric, side: "right" } },
    }];
    const marks = { diverged: [[], []], degenerate: [[], []], best: [[], []] };
    let best = null;
    c.z.forEach(function (row, i) {
      row.forEach(function (v, j) {
        if (c.total[i][j] && c.lost[i][j] === c.total[i][j]) {
          marks.diverged[0].push(xl[j]); marks.diverged[1].push(yl[i]);
        }
        const r = c.who[i][j];
        if (r !== null && degenerate && degenerate[r]) {
          marks.degenerate[0].push(xl[j]); marks.degenerate[1].push(yl[i]);
        }
        // as in the fit: a degenerate cell never wins
        const flagged = r !== null && degenerate && degenerate[r];
        if (v !== null && !flagged && (best === null || (higher ? v > best[0] : v < best[0]))) {
          best = [v, i, j];
        }
      });
    });
    if (best) { marks.best[0].push(xl[best[2]]); marks.best[1].push(yl[best[1]]); }
    const style = {
      diverged: { symbol: "x", size: 16, color: "#555" },
      degenerate: { symbol: "circle-open", size: 18, color: "#d62728", line: { width: 2 } },
      best: { symbol: "star", size: 16, color: "white", line: { color: "black", width: 1 } },
    };
    const names = { diverged: "every simulation diverged", degenerate: "degenerate",
      best: "best cell (degenerate ones excluded)" };
    Object.keys(marks).forEach(function (kind) {
      if (marks[kind][0].length === 0) return;
      traces.push({ type: "scatter", mode: "markers", x: marks[kind][0], y: marks[kind][1],
        name: names[kind], marker: style[kind], hoverinfo: "skip" });
    });
    const heldText = swept.filter(function (p) { return p !== state.x && p !== state.y; })
      .map(function (p) {
        return state.held[p] === BEST ? "best over " + p : withUnit(p, grid[p][state.held[p]]);
      }).join(", ");
    const layout = {
      title: { text: D.metric_labels[state.metric] + (heldText ? "<br><sub>" + heldText + "</sub>" : ""),
        font: { size: 13 } },
      xaxis: { title: { text: state.x ? D.axis_labels[state.x] : "" }, type: "category" },
      yaxis: { title: { text: state.y ? D.axis_labels[state.y] : "" }, type: "category" },
      legend: { orientation: "h", y: -0.22 },
      margin: { t: 70, l: 80, r: 20, b: 90 },
    };
    Plotly.react("landscape", traces, layout, { responsive: false, displaylogo: false });
  }

  function matrix(upper) {
    const m = D.regions.length;
    const out = [];
    for (let i = 0; i < m; i++) out.push(new Array(m).fill(1));
    let k = 0;
    for (let i = 0; i < m; i++) {
      for (let j = i + 1; j < m; j++) { out[i][j] = upper[k]; out[j][i] = upper[k]; k++; }
    }
    return out;
  }

  // lines between the hemispheres on both FC panels
  function dividers() {
    const at = D.hemisphere_break;
    if (at === null || at === undefined) return [];
    const where = at - 0.5, end = D.regions.length - 0.5;
    const line = { color: "black", width: 1 };
    const shapes = [];
    ["", "2"].forEach(function (axis) {
      shapes.push({ type: "line", xref: "x" + axis, yref: "y" + axis, x0: where, x1: where,
        y0: -0.5, y1: end, line: line });
      shapes.push({ type: "line", xref: "x" + axis, yref: "y" + axis, x0: -0.5, x1: end,
        y0: where, y1: where, line: line });
    });
    return shapes;
  }

  function showSimulation(r) {
    state.selected = r;
    const index = cols.sim_index[r];
    const stored = D.fc[String(index)];
    const fcBox = document.getElementById("fc");
    fcBox.dataset.simIndex = String(index);
    const simTitle = diverged[r] ? "simulation " + index + ": diverged, no FC"
      : stored ? "simulated FC, simulation " + index
        : "simulation " + index + ": FC not stored (only the " + D.fc_stored + " best by " + D.metric + " are)";
    const heat = function (z, axis) {
      return { type: "heatmap", z: z, x: D.regions, y: D.regions, xaxis: "x" + axis, yaxis: "y" + axis,
        zmin: -1, zmax: 1, coloraxis: "coloraxis",
        hovertemplate: "%{y} \u2013 %{x}<br>r = %{z:.3f}<extra></extra>" };
    };
    const empty = D.regions.map(function () { return D.regions.map(function () { return null; }); });
    const axis = function (where) {
      return { domain: where, showticklabels: D.regions.length <= 40, ticks: "", constrain: "domain" };
    };
    Plotly.react("fc", [heat(stored && !diverged[r] ? matrix(stored) : empty, ""),
      heat(matrix(D.empirical_fc), "2")], {
      annotations: [
        { text: simTitle, x: 0.22, y: 1.07, xref: "paper", yref: "paper", showarrow: false, font: { size: 13 } },
        { text: "empirical FC", x: 0.76, y: 1.07, xref: "paper", yref: "paper", showarrow: false, font: { size: 13 } },
      ],
      coloraxis: { colorscale: "RdBu", reversescale: false, cmin: -1, cmax: 1,
        colorbar: { title: { text: "FC (Pearson r)", side: "right" } } },
      xaxis: axis([0, 0.44]), yaxis: Object.assign(axis([0, 1]), { autorange: "reversed", scaleanchor: "x" }),
      xaxis2: axis([0.52, 0.96]), yaxis2: Object.assign(axis([0, 1]), { autorange: "reversed", scaleanchor: "x2", anchor: "x2" }),
      shapes: dividers(),
      margin: { t: 50, l: 20, r: 20, b: 20 },
    }, { displaylogo: false });
    const rows = [];
    const add = function (name, value) { rows.push("<tr><th>" + name + "</th><td>" + value + "</td></tr>"); };
    swept.concat(roles.other).forEach(function (p) { add(p, fmt(cols[p][r]) + (D.units[p] && D.units[p] !== "dimensionless" ? " " + D.units[p] : "")); });
    roles.flags.forEach(function (f) { add(f, cols[f][r] ? "yes" : "no"); });
    roles.metrics.forEach(function (m) { add(m, fmt(cols[m][r])); });
    const subjects = roles.subjects.map(function (s) {
      return "<td>" + s.replace("fc_corr_", "") + "<br>" + fmt(cols[s][r]) + "</td>";
    }).join("");
    document.getElementById("details").innerHTML = "<b>Simulation " + index + "</b>" +
      "<table id=\"selected\">" + rows.join("") + "</table>" +
      (subjects ? "<div>FC correlation with each subject's own FC:</div><table id=\"subjects\"><tr>" + subjects + "</tr></table>" : "");
  }

  function onClick(event) {
    const point = event.points[0];
    const c = state.cells;
    const i = c.ys.map(fmt).indexOf(String(point.y));
    const j = c.xs.map(fmt).indexOf(String(point.x));
    if (i < 0 || j < 0) return;
    const r = c.who[i][j] !== null ? c.who[i][j] : c.first[i][j];
    if (r !== null) showSimulation(r);
  }

  buildControls();
  draw();
  document.getElementById("landscape").on("plotly_click", onClick);
  // open on the best simulation by the study's metric, a degenerate one never (as the fit)
  const c = state.cells;
  let start = null;
  c.z.forEach(function (row, i) {
    row.forEach(function (v, j) {
      if (v === null) return;
      const r = c.who[i][j];
      if (r !== null && degenerate && degenerate[r]) return;
      if (start === null || (D.higher_is_better[state.metric] ? v > c.z[start[0]][start[1]] : v < c.z[start[0]][start[1]])) start = [i, j];
    });
  });
  if (start) showSimulation(c.who[start[0]][start[1]]);
  else if (n > 0) showSimulation(0);
  document.body.dataset.ready = "true";
})();
