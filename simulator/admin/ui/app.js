// ionsim dashboard: polls the control API about once a second and redraws cards and tables.
// Every value from the server goes into the DOM as text (textContent / text nodes), never as
// HTML. With ?token=... in the page URL, every call sends it as X-Ionsim-Admin-Token.
"use strict";

(function () {
  const POLL_MS = 1000;
  const SLOW_EVERY = 5; // tenants and table names every 5th tick
  const MI_KEEP = 50;
  const TABLES = ["customers", "items", "orders", "order_lines", "item_warehouses", "balances", "invoices"];
  const ORDER_STATUS = {
    "05": "preliminary", "10": "entered", "15": "entered", "20": "entered", "22": "reserved",
    "23": "back order", "33": "allocated", "44": "picking", "66": "delivered", "77": "invoiced",
    "90": "closed",
  };
  const TOKEN = new URLSearchParams(location.search).get("token");

  const state = {
    tick: 0, paused: false, timer: null,
    statsMode: "unknown", // "stats" when /_sim/stats answers 200, else "fallback"
    journal: "unknown", // "ok" | "missing"
    miLast: null, calls: [], selectedCall: null,
    rpsHistory: [], lastRequests: null, lastAt: null,
    tenants: [], tenant: null, table: "orders", tableCounts: {}, selectedRow: null,
  };

  const $ = (id) => document.getElementById(id);

  // -- DOM helpers: text only -------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "onclick") node.addEventListener("click", v);
      else node.setAttribute(k, String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  function setText(id, value, cls) {
    const node = $(id);
    node.textContent = value === null || value === undefined ? "—" : String(value);
    if (cls !== undefined) node.className = "value " + (cls || "");
  }
  function setFoot(id, n, word) {
    const foot = $(id + "-foot");
    foot.textContent = n === null || n === undefined ? "" : fmt(n) + " " + word;
    foot.className = "foot" + (n ? " warn" : "");
  }
  function fmt(n) {
    if (n === null || n === undefined || n === "") return "—";
    if (typeof n !== "number") return String(n);
    return Number.isInteger(n) ? n.toLocaleString("en-US") : n.toLocaleString("en-US", { maximumFractionDigits: 1 });
  }
  function numCell(n, warnIfPositive) {
    const v = n === undefined || n === null ? null : n;
    let cls = "n";
    if (v === 0) cls += " zero";
    else if (warnIfPositive && v > 0) cls += " " + warnIfPositive;
    return el("td", { class: cls }, fmt(v));
  }
  function clockTime(iso) {
    if (!iso) return "—";
    const m = /T(\d\d:\d\d:\d\d(?:\.\d{1,3})?)/.exec(String(iso));
    return m ? m[1] : String(iso);
  }
  function clockText(v) {
    const d = typeof v === "number" ? new Date(v * 1000) : new Date(String(v));
    if (Number.isNaN(d.getTime())) return String(v);
    return d.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }
  function emptyRow(tbody, cols, text) {
    tbody.replaceChildren(el("tr", {}, el("td", { class: "empty", colspan: cols }, text)));
  }

  // -- HTTP ---------------------------------------------------------------------------------
  async function api(path, opts) {
    const headers = Object.assign({ Accept: "application/json" }, (opts && opts.headers) || {});
    if (TOKEN) headers["X-Ionsim-Admin-Token"] = TOKEN;
    const resp = await fetch(path, Object.assign({}, opts || {}, { headers, cache: "no-store" }));
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    // No throw on 401: a route this server lacks answers the gateway's 401 (it looks like
    // /{TI}/...), so only `refresh` decides, from a route that always exists.
    return { status: resp.status, ok: resp.ok, body };
  }
  function q(params) {
    const parts = [];
    for (const [k, v] of Object.entries(params)) {
      if (v !== null && v !== undefined && v !== "") parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(v));
    }
    return parts.length ? "?" + parts.join("&") : "";
  }

  // -- gateway KPIs and document flow ----------------------------------------------------------
  async function loadStats(dstats) {
    if (state.statsMode !== "fallback" || state.tick % 10 === 0) {
      const r = await api("/_sim/stats");
      if (r.status === 200 && r.body) {
        state.statsMode = "stats";
        renderStats(r.body, dstats);
        return;
      }
      state.statsMode = "fallback";
    }
    const ev = await api("/_sim/events?limit=0");
    renderFallback(dstats, ev.status === 200 ? ev.body : null);
  }

  function renderStats(s, dstats) {
    const g = s.gateway || {};
    const st = g.status || {};
    let fivexx = 0;
    for (const [code, n] of Object.entries(st)) if (code.startsWith("5")) fivexx += n;
    setText("kpi-rps", fmt(g.requestsPerSecond));
    pushRps(g.requestsPerSecond);
    setText("kpi-requests", fmt(g.requests));
    setText("kpi-401", fmt(st["401"] || 0), st["401"] ? "warn" : "");
    setText("kpi-429", fmt(st["429"] || 0), st["429"] ? "warn" : "");
    setText("kpi-5xx", fmt(fivexx), fivexx ? "bad" : "");
    const t = g.tokens || {};
    setText("kpi-tokens", fmt(t.issued));
    setFoot("kpi-tokens", t.refused, "refused");
    const mi = s.mi || {};
    setText("kpi-mi", fmt(mi.calls));
    setFoot("kpi-mi", mi.nok, "NOK");
    setText("kpi-faults", fmt((s.faults || {}).fired), (s.faults || {}).fired ? "bad" : "");
    if (s.now) $("clock").textContent = clockText(s.now);
    const pending = ((dstats && dstats.channels) || {});
    const rows = {};
    for (const [ch, c] of Object.entries(((s.events || {}).byChannel) || {})) {
      rows[ch] = Object.assign({ pending: (pending[ch] || {}).pending }, c);
    }
    renderFlow(rows, "from /_sim/stats");
  }

  function renderFallback(dstats, events) {
    for (const id of ["kpi-rps", "kpi-requests", "kpi-401", "kpi-429", "kpi-5xx", "kpi-tokens", "kpi-mi", "kpi-faults"]) setText(id, null, "");
    setFoot("kpi-tokens", null, "");
    setFoot("kpi-mi", null, "");
    const rows = {};
    const published = (events && events.published) || {};
    const channels = (dstats && dstats.channels) || {};
    for (const ch of new Set([...Object.keys(published), ...Object.keys(channels)])) {
      const c = channels[ch] || {};
      rows[ch] = {
        published: published[ch] !== undefined ? published[ch] : c.published,
        delivered: c.delivered, failed: c.failed, retried: c.retried,
        deadLettered: c.deadLettered, pending: c.pending,
        latencyMsP50: null, latencyMsP95: null,
      };
    }
    renderFlow(rows, "no /_sim/stats here: delivery counts only, no latency");
  }

  function renderFlow(rows, source) {
    $("flow-source").textContent = source;
    const tbody = $("flow-rows");
    const names = Object.keys(rows).sort();
    if (!names.length) return emptyRow(tbody, 9, "No events published yet.");
    tbody.replaceChildren(...names.map((ch) => {
      const c = rows[ch];
      return el("tr", { "data-testid": "flow-row", "data-channel": ch },
        el("td", {}, el("code", {}, ch)),
        numCell(c.published), numCell(c.delivered), numCell(c.failed, "warn"), numCell(c.retried, "warn"),
        numCell(c.deadLettered, "bad"), numCell(c.pending),
        numCell(c.latencyMsP50), numCell(c.latencyMsP95));
    }));
  }

  function pushRps(value) {
    if (typeof value !== "number") return;
    state.rpsHistory.push(value);
    if (state.rpsHistory.length > 60) state.rpsHistory.shift();
    const svg = $("spark-rps");
    const h = state.rpsHistory;
    const max = Math.max(1, ...h);
    const x = (i) => (120 - ((h.length - 1 - i) * 120) / 59).toFixed(1); // newest at the right
    const pts = h.map((v, i) => `${x(i)},${(28 - (v / max) * 26).toFixed(1)}`);
    const ns = "http://www.w3.org/2000/svg";
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", pts.join(" "));
    const area = document.createElementNS(ns, "polygon");
    area.setAttribute("points", `${x(0)},28 ${pts.join(" ")} 120,28`);
    svg.replaceChildren(area, line);
  }

  // -- MI calls -----------------------------------------------------------------------------
  async function loadJournal() {
    const params = { kind: "mi", limit: MI_KEEP };
    if (state.miLast !== null) params.since = state.miLast;
    const r = await api("/_sim/journal" + q(params));
    if (r.status !== 200 || !r.body) {
      state.journal = "missing";
      $("mi-note").textContent = `request journal not available (GET /_sim/journal answered ${r.status})`;
      if (!state.calls.length) emptyRow($("mi-rows"), 6, "No journal on this server.");
      return;
    }
    state.journal = "ok";
    $("mi-note").textContent = "newest first, last " + MI_KEEP;
    const entries = (r.body.entries || []).filter((e) => !e.kind || e.kind === "mi");
    if (r.body.last !== undefined && r.body.last !== null) state.miLast = r.body.last;
    // A full page after `since` means we are behind (a storm): jump to the latest instead.
    if (params.since !== undefined && (r.body.entries || []).length >= MI_KEEP) state.miLast = null;
    if (entries.length || state.tick <= 1) {
      const seen = new Set(state.calls.map((c) => c.seq));
      for (const e of entries) if (!seen.has(e.seq)) state.calls.push(e);
      state.calls.sort((a, b) => b.seq - a.seq);
      state.calls.length = Math.min(state.calls.length, MI_KEEP);
      renderCalls();
    }
  }

  function renderCalls() {
    const tbody = $("mi-rows");
    if (!state.calls.length) return emptyRow(tbody, 6, "No MI calls yet.");
    tbody.replaceChildren(...state.calls.map((c) => {
      const res = c.response || {};
      const nok = res.errorCode || res.errorMessage;
      const status = Number(c.status);
      const said = res.message || res.error || res.error_description || "";
      const answer = el("td", { class: nok || status >= 400 ? "bad" : "" },
        nok ? "NOK " + (res.errorCode || "") + (res.errorMessage ? " " + res.errorMessage : "") :
          res.records !== undefined ? fmt(res.records) + " rec" : said);
      const th = throttleTag(c.throttle);
      if (th) answer.append(el("span", { class: "tag", title: JSON.stringify(c.throttle) }, th));
      if (c.fault !== null && c.fault !== undefined) answer.append(el("span", { class: "tag fault" }, faultLabel(c.fault)));
      return el("tr", {
        class: "clickable" + (state.selectedCall === c.seq ? " selected" : ""),
        "data-testid": "mi-row", "data-seq": c.seq, tabindex: 0,
        onclick: () => selectCall(c.seq),
      },
        el("td", {}, clockTime(c.at)), el("td", {}, c.tenant || ""),
        el("td", {}, el("code", {}, (c.program || "?") + "/" + (c.transaction || "?"))),
        el("td", { class: "n " + (status >= 500 ? "bad" : status >= 400 ? "warn" : "ok") }, c.status),
        el("td", { class: "n" }, fmt(c.durationMs)), answer);
    }));
  }

  // The journal's fault: the index of the rule that fired, or "header" (X-Ionsim-Fault).
  function faultLabel(f) {
    return typeof f === "number" ? "fault rule #" + f : "fault " + (typeof f === "string" ? f : JSON.stringify(f));
  }

  // The journal's throttle decision: {allowed, delayMs, reason, count}, or null.
  function throttleTag(t) {
    if (!t) return "";
    if (typeof t !== "object") return String(t);
    if (t.allowed === false) return "throttled" + (t.reason ? ": " + t.reason : "");
    if (t.delayMs > 0) return "delayed " + fmt(Math.round(t.delayMs)) + " ms";
    return "";
  }

  function kv(obj) {
    const dl = el("dl");
    const entries = Object.entries(obj || {});
    if (!entries.length) dl.append(el("dt", {}, "—"), el("dd", {}, ""));
    for (const [k, v] of entries) {
      dl.append(el("dt", {}, k), el("dd", {}, typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)));
    }
    return dl;
  }

  function selectCall(seq) {
    state.selectedCall = seq;
    const c = state.calls.find((x) => x.seq === seq);
    renderCalls();
    const box = $("mi-detail");
    if (!c) return box.replaceChildren(el("p", { class: "empty" }, "That call is no longer in the list."));
    const meta = { seq: c.seq, at: c.at, tenant: c.tenant, status: c.status, durationMs: c.durationMs,
      clientId: c.clientId, throttle: c.throttle ? throttleTag(c.throttle) || "allowed" : null,
      fault: c.fault === null || c.fault === undefined ? null : faultLabel(c.fault) };
    for (const k of Object.keys(meta)) if (meta[k] === undefined || meta[k] === null) delete meta[k];
    box.replaceChildren(
      el("h3", { "data-testid": "mi-detail-title" }, (c.program || "?") + "/" + (c.transaction || "?")),
      el("p", { class: "mono" }, (c.method || "GET") + " " + (c.path || "")),
      kv(meta),
      el("h3", {}, "Request"), el("div", { "data-testid": "mi-detail-request" }, kv(c.request)),
      el("h3", {}, "Answer"), el("div", { "data-testid": "mi-detail-response" }, kv(c.response)));
  }

  // -- DLQ and subscriptions ------------------------------------------------------------------
  async function loadDlq() {
    const r = await api("/_sim/dlq?limit=200");
    if (r.status !== 200 || !r.body) return;
    const total = r.body.total || 0;
    $("dlq-count").textContent = String(total);
    $("dlq-count").className = "count" + (total ? " bad" : "");
    setText("kpi-dlq", fmt(total), total ? "bad" : "");
    $("dlq-replay-all").disabled = !total;
    const tbody = $("dlq-rows");
    const items = r.body.deadLetters || [];
    if (!items.length) return emptyRow(tbody, 5, "The dead-letter queue is empty.");
    tbody.replaceChildren(...items.map((d) => el("tr", { "data-testid": "dlq-row", "data-id": d.id,
      title: "dead-lettered " + d.deadLetteredAt + ": " + d.reason },
      el("td", {}, d.channel), el("td", { title: d.eventId }, d.key || d.eventId),
      el("td", { class: "bad" }, lastFailure(d.reason)),
      el("td", { class: "n" }, (d.attempts || []).length),
      el("td", {}, el("button", { type: "button", "data-testid": "dlq-replay", "data-id": d.id,
        "aria-label": "Replay " + d.id, onclick: () => replay([d.id]) }, "Replay")))));
  }

  function lastFailure(reason) {
    const m = /last: (.*)$/.exec(String(reason || ""));
    return m ? m[1] : String(reason || "");
  }

  async function replay(ids) {
    const opts = { method: "POST" };
    if (ids) {
      opts.body = JSON.stringify({ ids });
      opts.headers = { "Content-Type": "application/json" };
    }
    try {
      const r = await api("/_sim/dlq/replay", opts);
      const b = r.body || {};
      $("dlq-msg").textContent = r.ok
        ? `replayed ${(b.replayed || []).length}` + ((b.skipped || []).length ? `, skipped ${b.skipped.length}` : "")
        : "replay failed: " + ((b && (b.error || b.message)) || r.status);
    } catch (e) {
      $("dlq-msg").textContent = "replay failed: " + e.message;
    }
    await refresh(false);
  }

  async function loadSubscriptions(dstats) {
    const r = await api("/_sim/subscriptions");
    if (r.status !== 200 || !r.body) return;
    const subs = r.body.subscriptions || [];
    const per = (dstats && dstats.subscriptions) || {};
    $("subs-count").textContent = String(subs.length);
    const tbody = $("subs-rows");
    if (!subs.length) return emptyRow(tbody, 7, "No webhook subscriptions.");
    tbody.replaceChildren(...subs.map((s) => {
      const c = per[s.id] || {};
      return el("tr", { "data-testid": "sub-row", "data-id": s.id },
        el("td", {}, el("code", {}, s.id)), el("td", { class: "url", title: s.url }, s.url),
        el("td", { title: (s.channels || []).join(", ") }, (s.channels || []).join(", ")),
        el("td", {}, s.tenant ? s.tenant.join(", ") : "all"),
        numCell(c.delivered), numCell(c.deadLettered, "bad"), numCell(c.pending));
    }));
  }

  // -- state browser ----------------------------------------------------------------------------
  async function loadTenants() {
    const r = await api("/_sim/tenants");
    if (r.status !== 200 || !r.body) return;
    const names = (r.body.tenants || []).map((t) => t.name);
    if (names.join("\u0000") !== state.tenants.join("\u0000")) {
      state.tenants = names;
      const sel = $("state-tenant");
      sel.replaceChildren(...names.map((n) => el("option", { value: n }, n)));
      if (!names.includes(state.tenant)) state.tenant = names[0] || null;
      if (state.tenant) sel.value = state.tenant;
    }
  }

  async function loadTableCounts() {
    if (!state.tenant) return;
    const r = await api(`/_sim/tenants/${encodeURIComponent(state.tenant)}/tables`);
    if (r.status === 200 && r.body) state.tableCounts = r.body.tables || {};
    renderTabs();
  }

  function renderTabs() {
    $("state-tabs").replaceChildren(...TABLES.map((t) => el("button", {
      type: "button", role: "tab", "aria-selected": t === state.table ? "true" : "false",
      "data-testid": "state-tab-" + t, onclick: () => selectTable(t),
    }, t.replace("_", " "), el("span", { class: "count" }, fmt(state.tableCounts[t] || 0)))));
  }

  function selectTable(t) {
    state.table = t;
    state.selectedRow = null;
    $("state-detail").replaceChildren(el("p", { class: "empty" }, "Click a row to see all its fields."));
    renderTabs();
    loadRows().catch(showError);
  }

  async function loadRows() {
    if (!state.tenant) return;
    const params = { limit: 100, order: $("state-order").value, q: $("state-q").value.trim() };
    const path = `/_sim/tenants/${encodeURIComponent(state.tenant)}/tables/${encodeURIComponent(state.table)}`;
    const r = await api(path + q(params));
    if (r.status !== 200 || !r.body) {
      $("state-note").textContent = "could not read the table: " + ((r.body && r.body.error) || r.status);
      return;
    }
    const b = r.body;
    if (state.tableCounts[state.table] !== b.total) {
      state.tableCounts[state.table] = b.total;
      renderTabs();
    }
    const cols = b.columns || [];
    $("state-head").replaceChildren(el("tr", {}, ...cols.map((c) => el("th", { scope: "col" }, c))));
    $("state-note").textContent = `${fmt(b.rows.length)} of ${fmt(b.total)} rows` + (b.next !== null ? " (first 100)" : "");
    const tbody = $("state-rows");
    if (!b.rows.length) return emptyRow(tbody, Math.max(cols.length, 1), "No rows.");
    tbody.replaceChildren(...b.rows.map((row) => {
      const key = (b.key || []).map((k) => row[k] || "").join("/");
      if (key === state.selectedRow) showRow(key, row); // the detail follows live changes
      return el("tr", { class: "clickable" + (state.selectedRow === key ? " selected" : ""),
        "data-testid": "state-row", "data-key": key, onclick: () => selectRow(key, row) },
      ...cols.map((c) => cell(b.table, c, row[c])));
    }));
  }

  function cell(table, col, value) {
    const v = value === undefined ? "" : String(value);
    if ((col === "ORST" || col === "ORSL") && ORDER_STATUS[v]) {
      return el("td", { title: ORDER_STATUS[v] }, v, el("span", { class: "note" }, " " + ORDER_STATUS[v]));
    }
    const numeric = /^(STQT|ALQT|AVAL|ORQT|DLQT|IVQT|NTAM|IVAV|SAPR)$/.test(col);
    return el("td", { class: numeric ? "n" : "", title: v.length > 30 ? v : null }, v);
  }

  function selectRow(key, row) {
    state.selectedRow = key;
    for (const tr of $("state-rows").children) tr.classList.toggle("selected", tr.dataset.key === key);
    showRow(key, row);
  }
  function showRow(key, row) {
    $("state-detail").replaceChildren(el("h3", {}, state.table + " " + key), kv(row));
  }

  // -- the loop ------------------------------------------------------------------------------------
  function showError(e) {
    const pill = $("conn");
    pill.className = "pill down";
    pill.textContent = e && e.status ? "unauthorized: open the page with ?token=<admin token>" : "server unreachable";
  }

  async function refresh(slow) {
    const dsr = await api("/_sim/deliveries/stats");
    if (dsr.status === 401 || dsr.status === 403) {
      const err = new Error("unauthorized");
      err.status = dsr.status;
      throw err;
    }
    const dstats = dsr.status === 200 ? dsr.body : null;
    if (slow) {
      await loadTenants();
      await loadTableCounts();
    }
    await Promise.all([loadStats(dstats), loadJournal(), loadDlq(), loadSubscriptions(dstats), loadRows()]);
    if (state.statsMode !== "stats") {
      const c = await api("/_sim/clock");
      if (c.status === 200 && c.body) $("clock").textContent = clockText(c.body.now);
    }
    const pill = $("conn");
    pill.className = "pill live";
    pill.textContent = "live · " + new Date().toLocaleTimeString("en-GB");
    document.body.dataset.ticks = String(state.tick);
  }

  async function loop() {
    state.timer = null;
    if (state.paused) return;
    try {
      await refresh(state.tick % SLOW_EVERY === 0);
    } catch (e) {
      showError(e);
    }
    state.tick += 1;
    if (!state.paused) state.timer = setTimeout(loop, POLL_MS);
  }

  function start() {
    $("pause").addEventListener("click", () => {
      state.paused = !state.paused;
      $("pause").setAttribute("aria-pressed", String(state.paused));
      $("pause").textContent = state.paused ? "Resume" : "Pause";
      if (state.paused) {
        clearTimeout(state.timer);
        $("conn").className = "pill";
        $("conn").textContent = "paused";
      } else if (!state.timer) loop();
    });
    $("dlq-replay-all").addEventListener("click", () => replay(null));
    $("state-tenant").addEventListener("change", (ev) => {
      state.tenant = ev.target.value;
      loadTableCounts().then(loadRows).catch(showError);
    });
    $("state-order").addEventListener("change", () => loadRows().catch(showError));
    $("state-q").addEventListener("input", () => loadRows().catch(showError));
    renderTabs();
    loop();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
