// A small self-made SVG line chart for live counters: the last N samples of one or two series,
// gridlines, a y-axis scale, the latest value, and a legend. No libraries. The root element
// carries data-samples / data-last / data-max (of the first series) so a test can watch it move.

import {h} from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 560;          // viewBox width
const H = 170;          // viewBox height
const PAD = {left: 58, right: 64, top: 12, bottom: 22};

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  if (text !== undefined) el.textContent = String(text);
  return el;
}

/** The smallest 1/2/2.5/5 x 10^k at or above `v` (1 for nothing). */
export function niceCeil(v) {
  if (!(v > 0)) return 1;
  const exp = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= v) return m * exp;
  return 10 * exp;
}

/** A plain number with a short unit suffix: 1.2k, 3.4M. */
export function compact(n) {
  if (!Number.isFinite(n)) return "–";
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  if (a >= 10 || n === Math.round(n)) return String(Math.round(n));
  return n.toFixed(1);
}

export class LineChart {
  /**
   * @param {object} o
   * @param {string} o.test        data-test of the root element
   * @param {string} o.title       heading
   * @param {{name: string, color: string}[]} o.series  one or two series (first is "the" series)
   * @param {(n: number) => string} [o.format]  value formatter (axis, labels, legend)
   * @param {number} [o.size]      samples kept (default 90)
   * @param {number} [o.interval]  seconds between samples, for the time axis (default 2)
   * @param {number} [o.minTop]    the y axis goes at least this high (default 1)
   */
  constructor({test, title, series, format = compact, size = 90, interval = 2, minTop = 1}) {
    this.series = series;
    this.minTop = minTop;
    this.format = format;
    this.size = size;
    this.interval = interval;
    this.data = series.map(() => []);
    this.legendValues = series.map(() => h("span", {class: "chart-legend-value"}, "–"));
    this.svg = s("svg", {viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img",
                         "aria-label": title, preserveAspectRatio: "xMidYMid meet"});
    this.el = h("div", {class: "chart", "data-test": test, "data-samples": "0",
                        "data-last": "0", "data-max": "0"},
      h("div", {class: "chart-head"},
        h("span", {class: "chart-title"}, title),
        h("span", {class: "chart-legend"}, series.map((ser, i) =>
          h("span", {class: "chart-legend-item", "data-series": ser.name},
            this._swatch(ser.color), h("span", {}, ser.name), this.legendValues[i])))),
      this.svg);
    this.draw();
  }

  _swatch(color) {
    const sw = h("span", {class: "chart-swatch"});
    sw.style.backgroundColor = color;
    return sw;
  }

  /** Add one sample: `values[i]` for series i. */
  push(values) {
    this.series.forEach((_, i) => {
      const arr = this.data[i];
      arr.push(Math.max(0, Number(values[i]) || 0));
      if (arr.length > this.size) arr.shift();
    });
    const first = this.data[0];
    this.el.dataset.samples = String(first.length);
    this.el.dataset.last = String(first[first.length - 1]);
    this.el.dataset.max = String(Math.max(0, ...first));
    this.series.forEach((_, i) => {
      const arr = this.data[i];
      this.legendValues[i].textContent = this.format(arr[arr.length - 1]);
    });
    this.draw();
  }

  draw() {
    const svg = this.svg;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const x0 = PAD.left;
    const x1 = W - PAD.right;
    const y0 = H - PAD.bottom;
    const y1 = PAD.top;
    const peak = Math.max(0, ...this.data.flat());
    const top = niceCeil(Math.max(peak, this.minTop));
    const yOf = (v) => y0 - (v / top) * (y0 - y1);
    const step = (x1 - x0) / Math.max(1, this.size - 1);
    // Newest sample at the right edge; older ones to the left.
    const xOf = (i, n) => x1 - (n - 1 - i) * step;

    const grid = s("g", {class: "chart-grid"});
    for (let k = 0; k <= 4; k++) {
      const y = y0 - (k / 4) * (y0 - y1);
      grid.append(s("line", {x1: x0, x2: x1, y1: y, y2: y,
                             class: k === 0 ? "chart-axis" : "chart-gridline"}));
      if (k === 0 || k === 2 || k === 4) {
        grid.append(s("text", {x: x0 - 6, y: y + 4, "text-anchor": "end",
                               class: k === 4 ? "chart-label chart-ymax" : "chart-label"},
          this.format((k / 4) * top)));
      }
    }
    grid.append(s("line", {x1: x0, x2: x0, y1: y0, y2: y1, class: "chart-axis"}));
    // Time ticks: every 30 s back from now.
    const span = (this.size - 1) * this.interval;
    for (let t = 0; t <= span; t += 30) {
      const x = x1 - (t / this.interval) * step;
      grid.append(s("line", {x1: x, x2: x, y1: y0, y2: y0 + 4, class: "chart-axis"}));
      grid.append(s("text", {x, y: H - 6, "text-anchor": t === 0 ? "end" : "middle",
                             class: "chart-label"}, t === 0 ? "now" : `-${t}s`));
    }
    svg.append(grid);

    this.data.forEach((arr, i) => {
      if (!arr.length) return;
      const color = this.series[i].color;
      const pts = arr.map((v, j) => `${xOf(j, arr.length).toFixed(1)},${yOf(v).toFixed(1)}`);
      if (i === 0 && arr.length > 1) {
        const first = xOf(0, arr.length).toFixed(1);
        svg.append(s("polygon", {points: `${first},${y0} ${pts.join(" ")} ${x1},${y0}`,
                                 fill: color, "fill-opacity": "0.12", stroke: "none"}));
      }
      svg.append(s("polyline", {points: pts.join(" "), fill: "none", stroke: color,
                                "stroke-width": i === 0 ? 2 : 1.5,
                                "stroke-dasharray": i === 0 ? null : "5 3",
                                "stroke-linejoin": "round", "stroke-linecap": "round"}));
      const last = arr[arr.length - 1];
      const y = yOf(last);
      svg.append(s("circle", {cx: x1, cy: y, r: 3, fill: color}));
      // Last value to the right of the plot; the second series' label avoids the first's.
      const other = i === 1 && this.data[0].length ? yOf(this.data[0][this.data[0].length - 1])
        : null;
      const ly = other !== null && Math.abs(other - y) < 12 ? (y > other ? y + 12 : y - 12) : y;
      svg.append(s("text", {x: x1 + 7, y: Math.min(y0 + 2, Math.max(y1 + 8, ly + 4)),
                            class: "chart-last", fill: color}, this.format(last)));
    });
    if (!this.data[0].length) {
      svg.append(s("text", {x: (x0 + x1) / 2, y: (y0 + y1) / 2, "text-anchor": "middle",
                            class: "chart-empty"}, "Waiting for samples…"));
    }
  }
}
