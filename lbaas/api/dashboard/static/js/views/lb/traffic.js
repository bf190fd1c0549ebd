// The traffic panel on a load balancer's page: totals from its statistics and two charts
// (connections, throughput) of the rates between successive samples; a counter that went down
// (a failover, a restart) counts as 0. Imported by views/loadbalancer.js.

import {LineChart, compact} from "../../chart.js";
import {formatBytes, h} from "../../dom.js";

const bytesRate = (n) => `${formatBytes(n)}/s`;

/** The panel: `el` to place on the page, `sample(stats)` with each `/stats` document. */
export function trafficPanel() {
  const connChart = new LineChart({test: "chart-connections", title: "Connections",
    series: [{name: "new/s", color: "#2f6fde"}, {name: "active", color: "#1f9d55"}],
    format: compact});
  const bytesChart = new LineChart({test: "chart-bytes", title: "Throughput",
    series: [{name: "in", color: "#7a4fd6"}, {name: "out", color: "#d98b00"}],
    format: bytesRate, minTop: 1000});
  const totals = {
    bytes_in: h("span", {class: "lb-total-value", "data-test": "total-bytes-in"}, "–"),
    bytes_out: h("span", {class: "lb-total-value", "data-test": "total-bytes-out"}, "–"),
    active_connections: h("span", {class: "lb-total-value", "data-test": "total-active"}, "–"),
    total_connections: h("span", {class: "lb-total-value", "data-test": "total-connections"},
      "–"),
    request_errors: h("span", {class: "lb-total-value", "data-test": "total-errors"}, "–"),
  };
  const total = (label, el) => h("div", {class: "lb-total"}, el,
    h("span", {class: "lb-total-label"}, label));
  const traffic = h("div", {class: "lb-traffic", "data-test": "traffic"},
    h("div", {class: "lb-totals", "data-test": "stats-totals"},
      total("Active connections", totals.active_connections),
      total("Total connections", totals.total_connections),
      total("Bytes in", totals.bytes_in), total("Bytes out", totals.bytes_out),
      total("Request errors", totals.request_errors)),
    connChart.el, bytesChart.el);

  let previous = null;
  function sample(stats) {
    const now = performance.now();
    const n = (k) => Number(stats[k]) || 0;
    totals.bytes_in.textContent = formatBytes(n("bytes_in"));
    totals.bytes_out.textContent = formatBytes(n("bytes_out"));
    totals.active_connections.textContent = String(n("active_connections"));
    totals.total_connections.textContent = String(n("total_connections"));
    totals.request_errors.textContent = String(n("request_errors"));
    totals.request_errors.classList.toggle("lb-total-bad", n("request_errors") > 0);
    if (previous) {
      const dt = Math.max(0.001, (now - previous.at) / 1000);
      // A counter that went down was reset (a failover, a restart): that step counts as 0.
      const rate = (k) => Math.max(0, n(k) - (Number(previous.stats[k]) || 0)) / dt;
      connChart.push([rate("total_connections"), n("active_connections")]);
      bytesChart.push([rate("bytes_in"), rate("bytes_out")]);
    }
    previous = {at: now, stats};
  }

  return {el: traffic, sample};
}
