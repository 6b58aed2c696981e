// aigateway dashboard: three pages (overview, requests, keys) over the /dashboard/api JSON API.
// No dependencies; charts are SVG drawn here. Data reaches the DOM only as text (never as HTML).
"use strict";

const COLORS = ["#2f5d8a", "#d9822b", "#3d9970", "#b3261e", "#7a5195", "#8c8c8c", "#c5a300"];
const $ = (sel) => document.querySelector(sel);
const state = { keys: new Map(), cursor: null, filters: "", seq: { overview: 0, log: 0 } };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

async function api(path, options) {
  const opts = Object.assign({ headers: {} }, options);
  if (opts.body !== undefined) {
    opts.headers["content-type"] = "application/json";
    opts.body = JSON.stringify(opts.body);
  }
  const res = await fetch("/dashboard/api" + path, opts);
  if (res.status === 401) { location.reload(); throw new Error("signed out"); }
  const doc = await res.json();
  if (!res.ok) throw new Error((doc.error && doc.error.message) || res.statusText);
  return doc;
}

const fmt = {
  usd: (v) => "$" + (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(4)),
  int: (v) => (v >= 1e6 ? (v / 1e6).toFixed(1) + "M" : v >= 1e4 ? (v / 1e3).toFixed(1) + "k" : String(Math.round(v))),
  ms: (v) => (v >= 1000 ? (v / 1000).toFixed(1) + "s" : Math.round(v) + "ms"),
  time: (t) => new Date(t * 1000).toLocaleString(),
  hm: (t) => new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }),
  day: (t) => new Date(t * 1000).toLocaleDateString([], { month: "short", day: "numeric" }),
};

// A line chart: xs (seconds), series [{name, values}] (null: no point), format for the y axis.
function lineChart(box, name, xs, series, yfmt) {
  const W = 640, H = 220, L = 56, R = 10, T = 10, B = 24;
  box.replaceChildren();
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, "data-chart": name, role: "img" });
  const all = series.flatMap((s) => s.values.filter((v) => v !== null));
  const ymax = Math.max(1e-9, ...all) * 1.1;
  const x0 = xs[0], x1 = xs[xs.length - 1];
  const px = (t) => L + (x1 === x0 ? (W - L - R) / 2 : ((t - x0) / (x1 - x0)) * (W - L - R));
  const py = (v) => H - B - (v / ymax) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const v = (ymax / 4) * i;
    root.append(svg("line", { x1: L, x2: W - R, y1: py(v), y2: py(v), class: i ? "grid-line" : "axis" }));
    const label = svg("text", { x: L - 6, y: py(v) + 3, "text-anchor": "end" });
    label.textContent = yfmt(v);
    root.append(label);
  }
  const long = x1 - x0 > 2 * 86400;
  for (let i = 0; i < xs.length; i += Math.max(1, Math.ceil(xs.length / 6))) {
    const label = svg("text", { x: px(xs[i]), y: H - 6, "text-anchor": "middle" });
    label.textContent = long ? fmt.day(xs[i]) : fmt.hm(xs[i]);
    root.append(label);
  }
  const legend = el("div", { class: "legend" });
  series.forEach((s, n) => {
    const color = COLORS[n % COLORS.length];
    const pts = xs.map((t, i) => [t, s.values[i]]).filter(([, v]) => v !== null);
    if (pts.length > 1) {
      const d = pts.map(([t, v]) => `${px(t).toFixed(1)},${py(v).toFixed(1)}`).join(" ");
      root.append(svg("polyline", { points: d, fill: "none", stroke: color, "stroke-width": 2 }));
    }
    for (const [t, v] of pts) {
      const dot = svg("circle", { cx: px(t), cy: py(v), r: v ? 3 : 1.5, fill: color, "data-series": s.name, "data-t": t, "data-value": v });
      const tip = svg("title", {});
      tip.textContent = `${s.name} · ${fmt.time(t)} · ${yfmt(v)}`;
      dot.append(tip);
      root.append(dot);
    }
    const total = s.total !== undefined ? " " + yfmt(s.total) : "";
    const chip = svg("svg", { width: 10, height: 10, class: "chip" }); // an SVG fill: the CSP allows no inline style
    chip.append(svg("rect", { width: 10, height: 10, rx: 2, fill: color }));
    legend.append(el("span", { "data-legend": s.name }, chip, s.name + total));
  });
  box.append(root, legend);
}

function groupLabel(group, value) {
  if (value === null || value === undefined) return "(none)";
  if (group === "key") return (state.keys.get(value) || {}).name || value;
  return value;
}

// Per-group series over every bucket of the range, the biggest six groups by requests.
function groupSeries(doc, group, field) {
  const xs = buckets(doc);
  const byGroup = new Map();
  for (const row of doc.groups) {
    const name = groupLabel(group, row.group);
    if (!byGroup.has(name)) byGroup.set(name, { name, rows: new Map(), requests: 0 });
    const g = byGroup.get(name);
    g.rows.set(row.t, (g.rows.get(row.t) || 0) + row[field]);
    g.requests += row.requests;
  }
  const top = [...byGroup.values()].sort((a, b) => b.requests - a.requests).slice(0, 6);
  return top.map((g) => {
    const values = xs.map((t) => g.rows.get(t) || 0);
    return { name: g.name, values, total: values.reduce((a, b) => a + b, 0) };
  });
}

function buckets(doc) {
  const xs = [];
  for (let t = Math.floor(doc.from / doc.step) * doc.step; t < doc.to; t += doc.step) xs.push(t);
  return xs;
}

async function loadOverview() {
  const group = $("#group").value;
  $("#overview-status").textContent = "Loading…";
  const seq = ++state.seq.overview;
  const doc = await api(`/summary?range=${$("#range").value}&group=${group}`);
  if (seq !== state.seq.overview) return; // a newer load (other range or grouping) is on its way
  const xs = buckets(doc);
  lineChart($("#chart-cost"), "cost", xs, groupSeries(doc, group, "cost_usd"), fmt.usd);
  lineChart($("#chart-requests"), "requests", xs, groupSeries(doc, group, "requests"), fmt.int);
  const sum = (f) => xs.map((t) => doc.groups.filter((r) => r.t === t).reduce((a, r) => a + r[f], 0));
  const tokens = ["input_tokens", "output_tokens", "cache_tokens"].map((f) => {
    const values = sum(f);
    return { name: f.replace("_tokens", ""), values, total: values.reduce((a, b) => a + b, 0) };
  });
  lineChart($("#chart-tokens"), "tokens", xs, tokens, fmt.int);
  for (const [id, field] of [["#chart-latency", "latency_ms"], ["#chart-ttft", "ttft_ms"]]) {
    const at = new Map(doc[field].map((p) => [p.t, p]));
    const pick = (q) => xs.map((t) => (at.has(t) ? at.get(t)[q] : null));
    lineChart($(id), field, xs, [{ name: "p50", values: pick("p50") }, { name: "p95", values: pick("p95") }], fmt.ms);
  }
  renderTotals(doc, group);
  $("#overview-status").textContent = "Updated " + new Date().toLocaleTimeString();
}

function renderTotals(doc, group) {
  const totals = new Map();
  const zero = () => ({ requests: 0, cost_usd: 0, input_tokens: 0, output_tokens: 0, errors: 0,
    cache_tokens: 0, cache_read_tokens: 0 });
  const all = zero();
  for (const r of doc.groups) {
    const name = groupLabel(group, r.group);
    const t = totals.get(name) || zero();
    for (const f of Object.keys(all)) { t[f] += r[f]; all[f] += r[f]; }
    totals.set(name, t);
  }
  $("#totals").replaceChildren(
    ...[["Requests", fmt.int(all.requests), "requests"], ["Spend", fmt.usd(all.cost_usd), "cost"],
      ["Tokens in / out", fmt.int(all.input_tokens) + " / " + fmt.int(all.output_tokens), "tokens"],
      ["Errors", fmt.int(all.errors), "errors"]].map(([k, v, id]) => el("div", { "data-total": id }, k, el("b", {}, v))));
  const speed = new Map(doc.by_group.map((r) => [groupLabel(group, r.group), r]));
  const ms = (v) => (v === null || v === undefined ? "" : fmt.ms(v));
  // cache hits: input read from the provider's prompt cache, of all input (uncached, read, written)
  const hits = (t) => (t.input_tokens + t.cache_tokens ? (100 * t.cache_read_tokens / (t.input_tokens + t.cache_tokens)).toFixed(1) + "%" : "");
  const cols = ["requests", "spend", "in", "out", "cache hits", "errors", "p50", "p95", "ttft p50"];
  const head = el("tr", {}, el("th", {}, group), ...cols.map((h) => el("th", { class: "num" }, h)));
  const rows = [...totals.entries()].sort((a, b) => b[1].requests - a[1].requests).map(([name, t]) => {
    const s = speed.get(name) || { latency_ms: {}, ttft_ms: {} };
    return el("tr", { "data-group": name }, el("td", {}, name), el("td", { class: "num" }, t.requests),
      el("td", { class: "num" }, fmt.usd(t.cost_usd)), el("td", { class: "num" }, fmt.int(t.input_tokens)),
      el("td", { class: "num" }, fmt.int(t.output_tokens)), el("td", { class: "num", "data-cache-hits": "" }, hits(t)),
      el("td", { class: "num" }, t.errors),
      el("td", { class: "num", "data-p50": "" }, ms(s.latency_ms.p50)), el("td", { class: "num" }, ms(s.latency_ms.p95)),
      el("td", { class: "num" }, ms(s.ttft_ms.p50)));
  });
  $("#breakdown").replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
}

async function loadOptions() {
  const doc = await api("/options");
  state.keys = new Map(doc.keys.map((k) => [k.id, k]));
  $("#models").replaceChildren(...doc.models.map((m) => el("option", { value: m })));
  $("#f-provider").replaceChildren(el("option", { value: "" }, "any"), ...doc.providers.map((p) => el("option", { value: p }, p)));
  $("#f-key").replaceChildren(el("option", { value: "" }, "any"), ...doc.keys.map((k) => el("option", { value: k.id }, k.name)));
}

async function loadLog(more) {
  if (!more) {
    const form = new FormData($("#log-filters"));
    state.filters = new URLSearchParams([...form.entries()].filter(([, v]) => v)).toString();
    state.cursor = null;
  }
  const cursor = more && state.cursor ? "&before=" + encodeURIComponent(state.cursor) : "";
  const seq = ++state.seq.log;
  const doc = await api("/requests?" + state.filters + cursor);
  if (seq !== state.seq.log) return;
  state.cursor = doc.next;
  const table = $("#log");
  if (!more || !table.tBodies.length) {
    const cols = ["time", "model", "provider", "key", "status", "in", "out", "cost", "latency", "ttft"];
    table.replaceChildren(el("thead", {}, el("tr", {}, ...cols.map((c) => el("th", {}, c)))), el("tbody", {}));
  }
  for (const r of doc.data) {
    const tr = el("tr", { "data-request-id": r.request_id },
      el("td", {}, fmt.time(r.created_at)), el("td", {}, r.model || "(none)"), el("td", {}, r.provider || ""),
      el("td", {}, groupLabel("key", r.key_id)), el("td", { class: r.status >= 400 ? "bad" : "" }, r.status),
      el("td", { class: "num" }, r.input_tokens), el("td", { class: "num" }, r.output_tokens),
      el("td", { class: "num" }, r.cost_nanousd === null ? "" : fmt.usd(r.cost_nanousd / 1e9)),
      el("td", { class: "num" }, fmt.ms(r.latency_ms)), el("td", { class: "num" }, r.ttft_ms === null ? "" : fmt.ms(r.ttft_ms)));
    tr.addEventListener("click", () => showRow(tr, r.request_id));
    table.tBodies[0].append(tr);
  }
  $("#more").hidden = !doc.next;
}

async function showRow(tr, id) {
  document.querySelectorAll("tr.selected").forEach((x) => x.classList.remove("selected"));
  tr.classList.add("selected");
  const row = await api("/requests/" + encodeURIComponent(id));
  $("#detail p").hidden = true;
  $("#detail-row").replaceChildren(...Object.entries(row).flatMap(([k, v]) => [el("dt", {}, k), el("dd", { "data-field": k }, v === null ? "—" : v)]));
}

async function loadKeys() {
  const doc = await api("/keys");
  state.keys = new Map(doc.data.map((k) => [k.id, k]));
  const cols = ["name", "id", "hint", "rpm", "tpm", "budget", "created", "state", ""];
  const rows = doc.data.map((k) => {
    const revoked = k.revoked_at !== null;
    const actions = el("td", {});
    if (!revoked) {
      const edit = el("button", { class: "link", "data-action": "edit" }, "Edit");
      edit.addEventListener("click", () => editKey(k));
      const revoke = el("button", { class: "danger", "data-action": "revoke" }, "Revoke");
      revoke.addEventListener("click", () => revokeKey(k, revoke));
      actions.append(edit, revoke);
    }
    return el("tr", { "data-key-id": k.id, "data-key-name": k.name },
      el("td", {}, k.name), el("td", {}, k.id), el("td", {}, "…" + k.hint), el("td", {}, k.rpm ?? "—"),
      el("td", {}, k.tpm ?? "—"), el("td", {}, k.budget_usd === null ? "—" : `$${Number(k.budget_usd)} / ${k.budget_period}`),
      el("td", {}, fmt.time(k.created_at)), el("td", { "data-field": "state" }, revoked ? "revoked" : "active"), actions);
  });
  $("#keys-table").replaceChildren(el("thead", {}, el("tr", {}, ...cols.map((c) => el("th", {}, c)))), el("tbody", {}, ...rows));
}

function editKey(k) {
  const f = $("#key-form").elements;
  f.key_id.value = k.id; f.name.value = k.name; f.rpm.value = k.rpm ?? ""; f.tpm.value = k.tpm ?? "";
  f.budget_usd.value = k.budget_usd ?? ""; f.budget_period.value = k.budget_period || "month";
  $("#key-form-title").textContent = "Change " + k.name;
  $("#key-submit").textContent = "Save";
  $("#key-cancel").hidden = false;
}

function resetKeyForm() {
  $("#key-form").reset();
  $("#key-form").elements.key_id.value = "";
  $("#key-form-title").textContent = "New key";
  $("#key-submit").textContent = "Create";
  $("#key-cancel").hidden = true;
}

async function revokeKey(k, button) {
  if (button.dataset.armed !== "1") { button.dataset.armed = "1"; button.textContent = "Confirm revoke"; return; }
  await api("/keys/" + encodeURIComponent(k.id), { method: "DELETE", body: {} });
  $("#key-message").textContent = `Key ${k.name} revoked.`;
  await loadKeys();
}

async function submitKey(ev) {
  ev.preventDefault();
  const f = ev.target.elements;
  const num = (v) => (v === "" ? null : Number(v));
  const body = { name: f.name.value, rpm: num(f.rpm.value), tpm: num(f.tpm.value), budget_usd: f.budget_usd.value || null };
  if (body.budget_usd) body.budget_period = f.budget_period.value;
  const msg = $("#key-message");
  try {
    if (f.key_id.value) {
      await api("/keys/" + encodeURIComponent(f.key_id.value), { method: "PATCH", body });
      msg.replaceChildren(`Key ${body.name} saved.`);
    } else {
      const created = await api("/keys", { method: "POST", body });
      msg.replaceChildren(`Key ${created.name} created. Copy its secret now; it is not shown again: `,
        el("span", { class: "secret", id: "new-secret" }, created.secret));
    }
    resetKeyForm();
    await loadKeys();
  } catch (err) {
    msg.replaceChildren(el("span", { class: "bad" }, err.message));
  }
}

function show() {
  const page = (location.hash || "#overview").slice(1);
  document.querySelectorAll("[data-page]").forEach((s) => (s.hidden = s.dataset.page !== page));
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === page));
  const load = { overview: loadOverview, requests: () => loadLog(false), keys: loadKeys }[page];
  if (load) load().catch((err) => console.error(err));
}

document.addEventListener("DOMContentLoaded", async () => {
  $("#range").addEventListener("change", loadOverview);
  $("#group").addEventListener("change", loadOverview);
  $("#log-filters").addEventListener("submit", (ev) => { ev.preventDefault(); loadLog(false); });
  $("#more").addEventListener("click", () => loadLog(true));
  $("#key-form").addEventListener("submit", submitKey);
  $("#key-cancel").addEventListener("click", resetKeyForm);
  $("#sign-out").addEventListener("click", async () => { await api("/logout", { method: "POST", body: {} }); location.reload(); });
  window.addEventListener("hashchange", show);
  await loadOptions().catch((err) => console.error(err));
  show();
});
