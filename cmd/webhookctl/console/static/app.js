// The events console's page: plain JavaScript, no framework, no build step,
// no request anywhere but this console's own API. Webhook data is only ever
// written as text (textContent), never as markup.
"use strict";

const token = document.querySelector('meta[name="console-token"]').content;
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

async function api(path, body) {
  const opts = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Console-Token": token },
    body: JSON.stringify(body),
  };
  const resp = await fetch(path, opts);
  let data = null;
  try { data = await resp.json(); } catch (e) { data = { error: "the console answered " + resp.status + " without JSON" }; }
  if (!resp.ok) {
    const err = new Error((data && data.error) || ("HTTP " + resp.status));
    err.reply = data;
    err.status = resp.status;
    throw err;
  }
  return data;
}

function fmtTime(t) { return t ? new Date(t).toISOString() : "-"; }

function costText(c) {
  if (!c) return "";
  return "Read " + c.itemsRead + " item(s) in " + c.requests + " request(s)" +
    (c.readCapacityUnits ? ", " + c.readCapacityUnits + " read capacity unit(s)" : "");
}

function statusCell(s) { return el("span", { class: "status status-" + s, text: s }); }

function eventHref(e) { return "#/event/" + encodeURIComponent(e.provider) + "/" + encodeURIComponent(e.id); }

function eventsTable(events, caption) {
  if (!events.length) return el("p", { text: "No events." });
  const head = el("tr", {}, ...["Received", "Provider", "Type", "Subject", "Status", "Queued", "Event id"].map((h) => el("th", { scope: "col", text: h })));
  const rows = events.map((e) => el("tr", {},
    el("td", { text: fmtTime(e.receivedAt) }),
    el("td", { text: e.provider }),
    el("td", { text: e.type || "-" }),
    el("td", { text: e.subject || "-" }),
    el("td", {}, statusCell(e.status)),
    el("td", { text: fmtTime(e.queuedAt) }),
    el("td", {}, el("a", { href: eventHref(e), class: "event-link", text: e.id })),
  ));
  return el("table", {}, el("caption", { class: "muted", text: caption }), el("thead", {}, head), el("tbody", {}, ...rows));
}

function showReply(pre, data, failed) {
  pre.classList.toggle("error", !!failed);
  pre.textContent = JSON.stringify(data, null, 2);
}

async function act(pre, path, body) {
  pre.classList.remove("error");
  pre.textContent = "running " + path + " …";
  try {
    const data = await api(path, body);
    showReply(pre, data, false);
    return data;
  } catch (e) {
    showReply(pre, e.reply || { error: e.message }, true);
    return null;
  }
}

// ---- views ----

const views = ["search", "event", "overview", "actions"];
function show(view) {
  for (const v of views) $("view-" + v).hidden = v !== view;
}

async function route() {
  const h = location.hash || "#/";
  const m = h.match(/^#\/event\/([^/]+)\/(.+)$/);
  if (m) {
    show("event");
    await loadEvent(decodeURIComponent(m[1]), decodeURIComponent(m[2]));
  } else if (h === "#/overview") {
    show("overview");
    loadOverview();
    loadChart();
  } else if (h === "#/actions") {
    show("actions");
  } else {
    show("search");
  }
}

// ---- search ----

async function search(ev) {
  if (ev) ev.preventDefault();
  const params = new URLSearchParams();
  for (const f of ["provider", "subject", "type", "status", "from", "to", "limit"]) {
    const v = $("search-" + f).value.trim();
    if (v) params.set(f, v);
  }
  $("search-cost").textContent = "searching…";
  $("results").replaceChildren();
  try {
    const r = await api("/api/events?" + params.toString());
    $("search-cost").textContent = costText(r.cost) + "; " + r.matched + " event(s) matched" +
      (r.truncated ? ", the newest " + r.events.length + " shown (narrow the window to see the rest)" : "") + ".";
    $("results").replaceChildren(eventsTable(r.events, "Newest first"));
  } catch (e) {
    $("search-cost").textContent = "Search failed: " + e.message;
  }
}

// ---- an event ----

async function loadEvent(provider, id) {
  const body = $("event-body");
  $("event-actions").replaceChildren();
  $("event-reply").textContent = "";
  body.replaceChildren(el("p", { text: "loading…" }));
  let d;
  try {
    d = await api("/api/events/" + encodeURIComponent(provider) + "/" + encodeURIComponent(id));
  } catch (e) {
    body.replaceChildren(el("p", { class: "error", text: e.message }));
    return;
  }
  $("event-title").textContent = "Event " + d.id;
  const fields = [
    ["Provider", d.provider], ["Event id", d.id], ["Type", d.type || "-"], ["Subject", d.subject || "-"],
    ["Status", statusCell(d.status)], ["Received", fmtTime(d.receivedAt)], ["Queued", fmtTime(d.queuedAt)],
    ["Last updated", fmtTime(d.updatedAt)], ["Message id", d.messageId || "-"], ["Reason", d.reason || "-"],
    ["Verified by secret version", d.secretVersion || "-"], ["Expires", d.expiry],
  ];
  if (d.deprecated) fields.push(["Deprecated", "yes (an event type the provider retired)"]);
  if (d.dataDropped) fields.push(["Data", "too large to keep: it cannot be re-processed from the table"]);
  const dl = el("dl", { class: "fields" });
  for (const [k, v] of fields) {
    const dd = el("dd", {});
    if (k === "Status") dd.id = "event-status";
    dd.append(v);
    dl.append(el("dt", { text: k }), dd);
  }
  const tl = el("ol", { class: "timeline", id: "event-timeline" }, ...d.timeline.map((s) =>
    el("li", {}, el("strong", { text: s.what }), " " + (s.at ? fmtTime(s.at) : "") + (s.detail ? " — " + s.detail : ""))));
  body.replaceChildren(dl,
    el("h3", { text: "Timeline" }), tl,
    el("h3", { text: "Data as stored (redacted; APIGift's goods only as ciphertext)" }),
    el("pre", { id: "event-data", text: JSON.stringify(d.data, null, 2) }),
    el("p", { class: "cost", text: costText(d.cost) }));
  if (d.status === "quarantined" || d.status === "stored") {
    const b = el("button", { type: "button", id: "reprocess", text: "Reprocess this event" });
    b.addEventListener("click", async () => {
      b.disabled = true;
      const r = await act($("event-reply"), "/api/reprocess", { provider: d.provider, eventId: d.id });
      b.disabled = false;
      if (r) {
        const again = el("a", { href: eventHref(d), text: "Read the event again" });
        again.addEventListener("click", (e) => { e.preventDefault(); loadEvent(d.provider, d.id).then(() => showReply($("event-reply"), r, false)); });
        $("event-actions").replaceChildren(b, again);
      }
    });
    $("event-actions").replaceChildren(b);
  }
}

// ---- overview ----

async function loadOverview() {
  const box = $("overview-counts");
  box.replaceChildren(el("p", { text: "loading…" }));
  try {
    const r = await api("/api/overview");
    const head = el("tr", {}, ...["Provider", "Quarantined", "Stranded", "Dead-lettered", ""].map((h) => el("th", { scope: "col", text: h })));
    const rows = r.providers.map((c) => {
      const link = (n, kind) => {
        const a = el("a", { href: "#/overview", text: String(n) });
        a.addEventListener("click", (e) => { e.preventDefault(); showList(kind, c.provider); });
        return a;
      };
      const dl = el("a", { href: "#/actions", text: String(c.deadLettered) });
      dl.addEventListener("click", () => { $("dlq-provider").value = c.provider; });
      return el("tr", {}, el("th", { scope: "row", text: c.provider }),
        el("td", {}, link(c.quarantined, "quarantine")), el("td", {}, link(c.stranded, "stranded")),
        el("td", {}, dl), el("td", { class: "error", text: c.error || "" }));
    });
    box.replaceChildren(el("table", { id: "counts" }, el("thead", {}, head), el("tbody", {}, ...rows)));
    $("overview-cost").textContent = costText(r.cost);
  } catch (e) {
    box.replaceChildren(el("p", { text: "Overview failed: " + e.message }));
  }
}

async function showList(kind, provider) {
  const title = $("list-title");
  title.hidden = false;
  title.textContent = (kind === "quarantine" ? "Quarantined events of " : "Stranded events of ") + provider;
  $("overview-list").replaceChildren(el("p", { text: "loading…" }));
  try {
    const r = await api("/api/" + kind + "?provider=" + encodeURIComponent(provider));
    $("overview-list").replaceChildren(eventsTable(r.events, kind === "quarantine" ? "Oldest first, from the quarantine index" : "Oldest first, from the unsent markers"),
      el("p", { class: "cost", text: costText(r.cost) }));
  } catch (e) {
    $("overview-list").replaceChildren(el("p", { text: e.message }));
  }
}

// ---- chart ----

const svgNS = "http://www.w3.org/2000/svg";
function svg(tag, attrs) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

async function loadChart(ev) {
  if (ev) ev.preventDefault();
  const box = $("charts");
  box.replaceChildren(el("p", { text: "loading…" }));
  let r;
  try {
    r = await api("/api/metrics?hours=" + $("chart-hours").value);
  } catch (e) {
    box.replaceChildren(el("p", { text: "Metrics failed: " + e.message }));
    return;
  }
  $("chart-source").textContent = "From " + r.source + ", " + fmtTime(r.from) + " to " + fmtTime(r.to) + ", by minute.";
  const W = 720, H = 140, pad = 28;
  const charts = r.providers.map((p) => {
    const n = (p.series[r.outcomes[0]] || []).length;
    let peak = 1;
    for (const o of r.outcomes) for (const v of p.series[o]) peak = Math.max(peak, v);
    const total = r.outcomes.map((o) => o + " " + p.total[o]).join(", ");
    const s = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": p.provider + ": webhooks per minute; totals " + total });
    s.append(svg("line", { x1: pad, y1: H - pad, x2: W - 4, y2: H - pad, stroke: "#d0d7de" }));
    const yl = svg("text", { x: 2, y: 12, "font-size": 10, fill: "#57606a" });
    yl.textContent = peak + "/min";
    s.append(yl);
    for (const o of r.outcomes) {
      const vals = p.series[o];
      if (!vals.some((v) => v > 0)) continue;
      const pts = vals.map((v, i) => (pad + (i * (W - pad - 6)) / Math.max(1, n - 1)).toFixed(1) + "," + (H - pad - (v * (H - pad - 16)) / peak).toFixed(1));
      s.append(svg("polyline", { points: pts.join(" "), fill: "none", "stroke-width": 1.5, class: "o-" + o }));
    }
    const legend = el("p", { class: "legend" }, ...r.outcomes.map((o) => el("span", {}, el("span", { class: "swatch o-" + o, "aria-hidden": "true" }), o + ": " + p.total[o])));
    return el("figure", { class: "chart" }, el("figcaption", {}, el("strong", { text: p.provider })), s, legend);
  });
  box.replaceChildren(...charts);
}

// ---- actions ----

function list(v) { return v.split(",").map((s) => s.trim()).filter(Boolean); }

function replayBody(dryRun) {
  const b = { provider: $("replay-provider").value, from: $("replay-from").value.trim(), to: $("replay-to").value.trim(), dryRun };
  const types = list($("replay-types").value), subjects = list($("replay-subjects").value);
  if (types.length) b.types = types;
  if (subjects.length) b.subjects = subjects;
  return b;
}

let previewed = null;

function wireActions() {
  $("redrive-form").addEventListener("submit", (e) => {
    e.preventDefault();
    act($("redrive-reply"), "/api/redrive", { provider: $("redrive-provider").value, olderThan: $("redrive-older").value.trim() });
  });
  const replayForm = $("replay-form");
  replayForm.addEventListener("input", () => { previewed = null; $("replay-run").disabled = true; });
  replayForm.addEventListener("change", () => { previewed = null; $("replay-run").disabled = true; });
  replayForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = replayBody(true);
    const r = await act($("replay-reply"), "/api/replay", body);
    if (r) {
      $("replay-reply").textContent = "Dry run: " + r.matched + " event(s) would be sent again.\n" + JSON.stringify(r, null, 2);
      previewed = JSON.stringify(replayBody(false));
      $("replay-run").disabled = r.matched === 0;
    }
  });
  $("replay-run").addEventListener("click", async () => {
    if (!previewed) return;
    $("replay-run").disabled = true;
    await act($("replay-reply"), "/api/replay", JSON.parse(previewed));
    previewed = null;
  });
  $("dlq-form").addEventListener("submit", (e) => {
    e.preventDefault();
    act($("dlq-reply"), "/api/dlq/redrive", { provider: $("dlq-provider").value, max: Number($("dlq-max").value) || 0, dryRun: true });
  });
  $("dlq-run").addEventListener("click", () => {
    act($("dlq-reply"), "/api/dlq/redrive", { provider: $("dlq-provider").value, max: Number($("dlq-max").value) || 0, dryRun: false });
  });
}

async function init() {
  try {
    const c = await api("/api/config");
    $("target").textContent = "Working on " + c.target + ". Read-only but for the actions, which run the operator commands.";
    for (const p of c.providers) {
      $("search-provider").append(el("option", { value: p, text: p }));
      for (const s of document.querySelectorAll(".provider-select")) s.append(el("option", { value: p, text: p }));
    }
    for (const s of c.statuses) $("search-status").append(el("option", { value: s, text: s }));
    $("search-limit").max = c.maxLimit;
  } catch (e) {
    $("target").textContent = "The console's API failed: " + e.message;
  }
  const now = new Date();
  $("replay-to").value = now.toISOString().replace(/\.\d+Z$/, "Z");
  $("replay-from").value = new Date(now - 3600e3).toISOString().replace(/\.\d+Z$/, "Z");
  // A search in the address (/?provider=tiki&subject=...): the server put its
  // results in the page; fill the form with it.
  const qs = new URLSearchParams(location.search);
  for (const f of ["provider", "subject", "type", "status", "from", "to", "limit"]) {
    if (qs.get(f)) $("search-" + f).value = qs.get(f);
  }
  $("search-form").addEventListener("submit", search);
  $("chart-form").addEventListener("submit", loadChart);
  wireActions();
  window.addEventListener("hashchange", route);
  await route();
  document.body.dataset.ready = "true";
}

init();
