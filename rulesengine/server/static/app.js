// The dashboard: reads the API with the tokens typed in (kept in this tab's sessionStorage),
// follows the event stream, and refreshes the panels an event concerns. No libraries.
"use strict";

const tokens = {
  read: sessionStorage.getItem("rules.read") || "",
  control: sessionStorage.getItem("rules.control") || "",
};
const $ = (id) => document.getElementById(id);

function headers(level) {
  const token = level === "control" ? tokens.control : tokens.read || tokens.control;
  return token ? { Authorization: "Bearer " + token } : {};
}

async function api(path, options = {}) {
  const level = options.method === "POST" ? "control" : "read";
  const response = await fetch(path, { ...options, headers: { ...headers(level), ...(options.headers || {}) } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function showError(error) {
  const box = $("error");
  box.hidden = !error;
  box.textContent = error ? String(error.message || error) : "";
}

const money = (v) => (v === null || v === undefined || Number.isNaN(v)) ? "–"
  : v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const signed = (v) => (v > 0 ? "+" : "") + money(v);
const tone = (v) => (v > 0 ? "pos" : v < 0 ? "neg" : "");
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "onclick") node.onclick = v; else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}
function fill(tbody, rows) { tbody.replaceChildren(...rows); }

async function loadStatus() {
  const s = await api("/api/status");
  $("mode").textContent = s.mode === "engine" ? "engine (live)" : "journal (read-only)";
  $("clock").textContent = s.last_tick ? "last tick " + s.last_tick.replace("T", " ").slice(0, 19) : "no tick yet";
  const a = s.account || {};
  const start = a.starting_net_liq;
  const figures = [
    ["net liq", money(a.net_liq), ""],
    ["account P&L", start ? signed(a.net_liq - start) : "–", tone(a.net_liq - start)],
    ["day P&L", signed(a.day_pnl), tone(a.day_pnl)],
    ["realised", signed(s.positions.realised_pnl), tone(s.positions.realised_pnl)],
    ["cash", money(a.cash), ""],
    ["buying power", money(a.buying_power), ""],
    ["open", (s.positions.by_status.open || 0) + (s.positions.by_status.closing || 0), ""],
  ];
  $("account").replaceChildren(...figures.map(([label, value, cls]) =>
    el("div", { class: "figure" }, el("div", { class: "label" }, label), el("div", { class: "value " + cls }, value))));
  const locks = s.locks.map((lock) => el("li", {},
    el("strong", {}, `${lock.scope}.${lock.name}`), ` → ${lock.action}: ${lock.reason} `,
    el("button", { "data-unlock": lock.name, onclick: () => unlock(lock.name) }, "unlock")));
  $("locks").replaceChildren(...(locks.length ? locks : [el("li", { class: "muted" }, "none active")]));
}

async function unlock(name) {
  try { await api("/api/control/unlock/" + encodeURIComponent(name), { method: "POST" }); showError(null); }
  catch (error) { showError(error); }
  refresh("status");
}

async function loadEquity() {
  const points = (await api("/api/equity")).filter((p) => p.net_liq !== null);
  const svg = $("equity");
  if (points.length < 2) { svg.replaceChildren(); return; }
  const values = points.map((p) => p.net_liq);
  const lo = Math.min(...values), hi = Math.max(...values), span = hi - lo || 1;
  const xy = values.map((v, i) => [(i / (values.length - 1)) * 800, 150 - ((v - lo) / span) * 140]);
  const path = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  path.setAttribute("points", xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "));
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", values[values.length - 1] >= values[0] ? "#3fb950" : "#f85149");
  path.setAttribute("stroke-width", "2");
  path.setAttribute("vector-effect", "non-scaling-stroke");
  svg.replaceChildren(path);
}

async function loadPositions() {
  const rows = (await api("/api/positions")).map((p) => el("tr", {},
    el("td", {}, el("a", { href: "/api/why/" + p.id }, p.id)),
    el("td", {}, p.strategy),
    el("td", {}, p.legs.map((l) => `${l.ratio > 0 ? "+" : ""}${l.ratio} ${l.kind} ${l.strike ?? ""} ${l.expiry ?? ""}`).join(", ")),
    el("td", {}, p.quantity),
    el("td", {}, money(p.entry_price)),
    el("td", {}, money(p.last_mark), " ", p.marked_by_model ? el("span", { class: "badge model", title: "a leg has no quote: marked by the model" }, "model") : ""),
    el("td", { class: tone(p.pnl) }, signed(p.pnl)),
    el("td", {}, p.status)));
  fill($("positions").tBodies[0], rows.length ? rows : [el("tr", {}, el("td", { colspan: 8, class: "muted" }, "no open positions"))]);
}

async function loadFunnel() {
  const scans = await api("/api/funnel");
  $("funnel").replaceChildren(...scans.map((d) => el("div", { class: "funnel" },
    el("strong", {}, d.strategy), ` ${d.at.replace("T", " ").slice(0, 16)}: ${d.outcome}`,
    el("pre", { class: "steps" }, (d.detail.funnel || []).map((f) => `${String(f.in).padStart(6)} → ${String(f.out).padStart(6)}  ${f.stage}  ${f.clause}`).join("\n")))));
  if (!scans.length) $("funnel").replaceChildren(el("p", { class: "muted" }, "no scan yet"));
}

async function loadOrders() {
  const working = (await api("/api/orders")).filter((o) => ["pending", "working", "partially_filled", "unknown"].includes(o.status));
  fill($("orders").tBodies[0], working.length ? working.map((o) => el("tr", {},
    el("td", {}, o.key.slice(-10)), el("td", {}, o.strategy), el("td", {}, o.purpose),
    el("td", {}, o.status), el("td", {}, `${o.filled}/${o.quantity}`), el("td", {}, o.limit_price)))
    : [el("tr", {}, el("td", { colspan: 6, class: "muted" }, "none working"))]);
}

async function loadAlerts() {
  const alerts = await api("/api/alerts?limit=30");
  $("alerts").replaceChildren(...(alerts.length ? alerts.map((a) => el("li", { class: "level-" + a.level },
    `${a.at.replace("T", " ").slice(0, 16)} [${a.level}] ${a.message}`)) : [el("li", { class: "muted" }, "none")]));
}

async function loadRules() {
  const versions = await api("/api/rules");
  fill($("rules").tBodies[0], versions.slice(0, 20).map((v) => el("tr", {},
    el("td", {}, v.loaded_at.replace("T", " ").slice(0, 16)), el("td", {}, v.file.split("/").pop()),
    el("td", {}, v.id.startsWith("failed-") ? "–" : v.id), el("td", { class: v.status === "failed" ? "neg" : "" }, v.status),
    el("td", {}, el("pre", {}, v.diagnostics || "")))));
}

async function loadReloads() {
  const reloads = await api("/api/reloads?limit=10");
  $("reloads").replaceChildren(...(reloads.length ? reloads.map((r) => el("li", {},
    el("strong", { class: r.active ? "pos" : "neg" }, r.active ? "active" : "refused"),
    ` ${r.at.replace("T", " ").slice(0, 19)} (set ${r.version})`,
    el("pre", {}, r.report.join("\n")))) : [el("li", { class: "muted" }, "no reload yet")]));
}

const PANELS = { status: loadStatus, reloads: loadReloads, equity: loadEquity, positions: loadPositions, funnel: loadFunnel,
                 orders: loadOrders, alerts: loadAlerts, rules: loadRules };
const AFFECTS = { decision: ["positions", "funnel", "status"], order: ["orders", "positions"],
                  fill: ["positions", "status", "equity"], alert: ["alerts", "status"],
                  lock: ["status"], rules: ["rules"], reload: ["reloads", "rules"] };
const pending = new Set();
let timer = null;
function refresh(...names) {
  names.forEach((n) => pending.add(n));
  clearTimeout(timer);
  timer = setTimeout(async () => {
    const due = [...pending]; pending.clear();
    try { await Promise.all(due.map((n) => PANELS[n]())); showError(null); document.body.dataset.loaded = "yes"; }
    catch (error) { showError(error); }
  }, 150);
}

async function follow() {
  // fetch, not EventSource: the stream needs the Authorization header
  for (;;) {
    try {
      const response = await fetch("/api/events", { headers: headers("read") });
      if (!response.ok) throw new Error((await response.json()).error || response.statusText);
      $("live").textContent = "stream: live"; $("live").className = "badge on";
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
          const name = (block.match(/^event: (\w+)/m) || [])[1];
          if (name && AFFECTS[name]) refresh(...AFFECTS[name]);
        }
      }
    } catch (error) { showError(error); }
    $("live").textContent = "stream: reconnecting"; $("live").className = "badge off";
    await new Promise((r) => setTimeout(r, 3000));
  }
}

$("tokens").addEventListener("submit", (event) => {
  event.preventDefault();
  tokens.read = $("read-token").value.trim();
  tokens.control = $("control-token").value.trim();
  sessionStorage.setItem("rules.read", tokens.read);
  sessionStorage.setItem("rules.control", tokens.control);
  refresh(...Object.keys(PANELS));
});

refresh(...Object.keys(PANELS));
follow();
