// @ts-nocheck -- browser code: type-checking it would pull the DOM library into the Node build.
// The dashboard page. It is served as this function's source text (see assets.ts), so there is
// no bundler and no file to locate at run time. Every value from the store reaches the page
// through textContent or a text node, never as HTML.

/* eslint-disable */
export function dashboardApp(): void {
  "use strict";
  const PAGE_SIZE = 50;
  const REFRESH_MS = 2000;
  const EVENTS_PER_CHUNK = 200;
  // Timelines with more bars than this draw only the rows in view.
  const TIMELINE_DIRECT_ROWS = 300;
  const ROW_PX = 20;
  let config = { allowActions: false, csrfToken: "" };
  let refreshTimer = null;
  let renderSeq = 0;
  // A message to show after the next render (an action re-renders the page, which clears the flash).
  let flashAfterRender = null;

  // ------------------------------------------------------------------ DOM helpers

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs)
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === "class") el.className = v;
        else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? "" : String(v));
      }
    append(el, children);
    return el;
  }
  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }
  const main = () => document.getElementById("main");

  function instanceHref(id, execution) {
    return "#/instance/" + encodeURIComponent(id) + (execution ? "?execution=" + execution : "");
  }
  function iso(ms) {
    return ms === null || ms === undefined ? "" : new Date(ms).toISOString().replace("T", " ").replace("Z", "");
  }
  function dur(ms) {
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
    if (ms < 3600000) return Math.floor(ms / 60000) + " min " + Math.round((ms % 60000) / 1000) + " s";
    return Math.floor(ms / 3600000) + " h " + Math.round((ms % 3600000) / 60000) + " min";
  }
  function pretty(v) {
    if (v === undefined) return "—";
    if (typeof v === "string") {
      try {
        return JSON.stringify(JSON.parse(v), null, 2);
      } catch {
        return v;
      }
    }
    return JSON.stringify(v, null, 2);
  }
  function badge(status) {
    return h("span", { class: "badge s-" + String(status).toLowerCase() }, status);
  }
  function section(title, ...body) {
    return h("section", { class: "panel" }, h("h2", null, title), ...body);
  }

  // ------------------------------------------------------------------ API

  async function api(path, init) {
    const opts = { credentials: "same-origin", headers: {} };
    if (init && init.body !== undefined) {
      opts.method = "POST";
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-Duroxide-CSRF"] = config.csrfToken;
      opts.body = JSON.stringify(init.body);
    }
    const res = await fetch("api/" + path, opts);
    const body = await res.json().catch(() => ({ error: res.statusText }));
    if (!res.ok) {
      const err = new Error(body.error || res.statusText);
      err.status = res.status;
      throw err;
    }
    return body;
  }

  function showError(err) {
    const box = document.getElementById("flash");
    clear(box);
    box.className = "flash error";
    append(box, [String(err && err.message ? err.message : err)]);
  }
  function showInfo(text) {
    const box = document.getElementById("flash");
    clear(box);
    box.className = "flash info";
    append(box, [text]);
  }
  function clearFlash() {
    const box = document.getElementById("flash");
    clear(box);
    box.className = "flash";
  }

  function liveOn() {
    return document.getElementById("live").checked;
  }
  function schedule(fn) {
    if (refreshTimer) clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      if (liveOn() && !document.hidden) fn();
      else schedule(fn);
    }, REFRESH_MS);
  }

  // ------------------------------------------------------------------ instance list

  const listState = { cursors: [null], page: 0 };

  function parseHashQuery() {
    const hash = location.hash || "#/";
    const q = hash.indexOf("?");
    return { path: q < 0 ? hash.slice(1) : hash.slice(1, q), params: new URLSearchParams(q < 0 ? "" : hash.slice(q + 1)) };
  }

  function toLocalInput(ms) {
    if (!ms) return "";
    const d = new Date(Number(ms));
    const off = d.getTimezoneOffset() * 60000;
    return new Date(d.getTime() - off).toISOString().slice(0, 16);
  }

  function renderList(params) {
    const m = clear(main());
    const status = params.get("status") || "";
    const form = h(
      "form",
      { class: "filters", id: "filters" },
      h("label", null, "Status ",
        h("select", { name: "status", id: "f-status" },
          ["", "Running", "Completed", "Failed", "ContinuedAsNew"].map((s) => h("option", { value: s, selected: s === status }, s || "any")))),
      h("label", null, "Orchestration ", h("input", { name: "name", id: "f-name", value: params.get("name") || "", placeholder: "name" })),
      h("label", null, "Created after ", h("input", { type: "datetime-local", name: "after", id: "f-after", value: toLocalInput(params.get("after")) })),
      h("label", null, "before ", h("input", { type: "datetime-local", name: "before", id: "f-before", value: toLocalInput(params.get("before")) })),
      h("button", { type: "submit" }, "Apply"),
      h("span", { class: "spacer" }),
      h("label", null, "Instance id ", h("input", { name: "id", id: "f-id", placeholder: "exact id", value: params.get("id") || "" })),
      h("button", { type: "submit", id: "f-search" }, "Search"),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      const fd = new FormData(form);
      if (fd.get("status")) q.set("status", fd.get("status"));
      if (fd.get("name")) q.set("name", fd.get("name"));
      if (fd.get("after")) q.set("after", String(new Date(fd.get("after")).getTime()));
      if (fd.get("before")) q.set("before", String(new Date(fd.get("before")).getTime()));
      if (fd.get("id")) q.set("id", fd.get("id"));
      if (params.get("limit")) q.set("limit", params.get("limit"));
      const next = "#/" + (q.toString() ? "?" + q.toString() : "");
      if (next === location.hash) render();
      else location.hash = next;
    });
    const tbody = h("tbody", { id: "instance-rows" });
    const pager = h("div", { class: "pager" });
    m.append(
      h("h1", null, "Instances"),
      form,
      h("table", { class: "grid", id: "instances" },
        h("thead", null, h("tr", null, ["Instance", "Orchestration", "Version", "Status", "Exec", "Created", "Updated", "Parent"].map((c) => h("th", null, c)))),
        tbody),
      pager,
    );
    listState.cursors = [null];
    listState.page = 0;
    loadPage(params, tbody, pager, renderSeq);
  }

  async function loadPage(params, tbody, pager, seq) {
    const q = new URLSearchParams();
    for (const [k, to] of [["status", "status"], ["name", "name"], ["after", "createdAfter"], ["before", "createdBefore"], ["id", "id"]])
      if (params.get(k)) q.set(to, params.get(k));
    q.set("limit", params.get("limit") || String(PAGE_SIZE));
    const cursor = listState.cursors[listState.page];
    if (cursor) q.set("cursor", cursor);
    try {
      const page = await api("instances?" + q.toString());
      if (seq !== renderSeq) return;
      clear(tbody);
      for (const i of page.items)
        tbody.append(
          h("tr", { "data-id": i.instanceId },
            h("td", null, h("a", { href: instanceHref(i.instanceId), class: "id" }, i.instanceId)),
            h("td", null, i.orchestrationName),
            h("td", null, i.orchestrationVersion),
            h("td", null, badge(i.status)),
            h("td", { class: "num" }, i.currentExecutionId),
            h("td", null, iso(i.createdAt)),
            h("td", null, iso(i.updatedAt)),
            h("td", null, i.parentInstanceId ? h("a", { href: instanceHref(i.parentInstanceId), class: "id" }, i.parentInstanceId) : "")),
        );
      if (page.items.length === 0) tbody.append(h("tr", null, h("td", { colspan: 8, class: "empty" }, params.get("id") ? "No instance with that id." : "No instances match.")));
      listState.cursors[listState.page + 1] = page.nextCursor;
      clear(pager);
      pager.append(
        h("button", { id: "page-newer", disabled: listState.page === 0, onclick: () => { listState.page--; loadPage(params, tbody, pager, renderSeq); } }, "← Newer"),
        h("span", { id: "page-label" }, "Page " + (listState.page + 1) + " · " + page.items.length + " shown"),
        h("button", { id: "page-older", disabled: !page.nextCursor, onclick: () => { listState.page++; loadPage(params, tbody, pager, renderSeq); } }, "Older →"),
      );
      document.body.dataset.ready = "list";
      schedule(() => loadPage(params, tbody, pager, seq));
    } catch (err) {
      if (seq === renderSeq) showError(err);
    }
  }

  // ------------------------------------------------------------------ instance page

  async function renderInstance(id, params, seq) {
    const execution = params.get("execution");
    let details, history, tree;
    try {
      ({ details, history, tree } = await api("instances/" + encodeURIComponent(id) + "/page" + (execution ? "?execution=" + encodeURIComponent(execution) : "")));
    } catch (err) {
      if (seq !== renderSeq) return;
      clear(main()).append(h("h1", null, "Instance"), h("p", { class: "id big" }, id));
      showError(err);
      return;
    }
    if (seq !== renderSeq) return;
    const scroll = window.scrollY;
    const m = clear(main());
    const title = h("h1", null, h("span", { class: "id", id: "instance-id" }, details.instanceId), " ", badge(details.status));
    const facts = h("dl", { class: "facts" },
      fact("Orchestration", details.orchestrationName + "@" + details.orchestrationVersion),
      fact("Execution", details.currentExecutionId + " of " + details.executionCount),
      fact("Created", iso(details.createdAt)),
      fact("Updated", iso(details.updatedAt)),
      fact("Parent", details.parentInstanceId ? h("a", { href: instanceHref(details.parentInstanceId), class: "id", id: "parent-link" }, details.parentInstanceId) : "—"),
      fact("History", details.stats ? details.stats.historyEventCount + " events, " + details.stats.historySizeBytes + " bytes" : "—"),
    );
    m.append(h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Instances"), " / ", details.instanceId), title, facts);
    m.append(actionsPanel(details));
    const io = h("div", { class: "cols" },
      section("Input", h("pre", { id: "input" }, pretty(details.input))),
      details.error
        ? section("Error", h("pre", { id: "error", class: "err" }, details.error.message), h("details", null, h("summary", null, "details"), h("pre", null, pretty(details.error.details))))
        : section("Output", h("pre", { id: "output" }, details.status === "Completed" ? pretty(details.output) : "— (not completed)")),
      section("Custom status", h("pre", { id: "custom-status" }, details.customStatus === null ? "—" : details.customStatus), h("p", { class: "muted" }, "version " + details.customStatusVersion)),
    );
    m.append(io);
    const kv = Object.entries(details.kv);
    m.append(section("Key-value store (" + kv.length + ")",
      kv.length === 0 ? h("p", { class: "muted" }, "empty") : h("table", { class: "grid", id: "kv" }, h("tbody", null, kv.map(([k, v]) => h("tr", null, h("td", { class: "id" }, k), h("td", null, h("pre", null, pretty(v)))))))));
    m.append(section("Executions",
      h("div", { class: "execs", id: "executions" }, history.executions.map((n) =>
        h("a", { href: instanceHref(details.instanceId, n), class: n === history.executionId ? "exec current" : "exec" }, "#" + n)))));
    m.append(section("Timeline · execution " + history.executionId + " · " + history.eventCount + " events · " + history.timeline.spans.length + " bars", timeline(history)));
    m.append(section("Children", treeView(tree, details)));
    m.append(section("Events", eventsTable(details, history)));
    window.scrollTo(0, scroll);
    document.body.dataset.ready = "instance";
    if (details.status === "Running" || details.status === "ContinuedAsNew") schedule(() => renderInstance(id, params, seq));
  }

  function fact(label, value) {
    return [h("dt", null, label), h("dd", null, value)];
  }

  function actionsPanel(details) {
    if (!config.allowActions)
      return h("p", { class: "muted", id: "read-only" }, "Read-only dashboard: start it with --allow-actions to raise events, cancel or delete.");
    const id = details.instanceId;
    const evName = h("input", { id: "raise-name", placeholder: "event name" });
    const evData = h("input", { id: "raise-data", placeholder: "JSON data (optional)" });
    const reason = h("input", { id: "cancel-reason", placeholder: "reason" });
    const force = h("input", { type: "checkbox", id: "delete-force" });
    const act = async (label, path, body) => {
      try {
        await api("instances/" + encodeURIComponent(id) + "/" + path, { body });
        flashAfterRender = label + " " + id;
        if (path === "delete") location.hash = "#/";
        else render();
      } catch (err) {
        showError(err);
      }
    };
    return section("Actions",
      h("div", { class: "actions" },
        h("span", null, evName, evData, h("button", { id: "raise", onclick: () => {
          let data = null;
          if (evData.value.trim() !== "") {
            try { data = JSON.parse(evData.value); } catch (e) { showError("event data is not valid JSON"); return; }
          }
          act("Raised " + evName.value + " on", "raise", { event: evName.value, data });
        } }, "Raise event")),
        h("span", null, reason, h("button", { id: "cancel", onclick: () => act("Cancellation requested for", "cancel", { reason: reason.value || "cancelled from the dashboard" }) }, "Cancel")),
        h("span", null, h("label", null, force, " force"), h("button", { id: "delete", class: "danger", onclick: () => act("Deleted", "delete", { force: force.checked }) }, "Delete")),
      ));
  }

  function timeline(history) {
    const tl = history.timeline;
    const t0 = tl.startMs;
    const total = Math.max(1, tl.endMs - t0);
    const pos = (ms) => ((ms - t0) / total) * 100;
    const wrap = h("div", { class: "timeline", id: "timeline" });
    wrap.append(h("div", { class: "tl-row tl-axis" }, h("div", { class: "tl-label" }, "total " + dur(tl.endMs - t0)),
      h("div", { class: "tl-track" }, [0, 0.25, 0.5, 0.75, 1].map((f) => {
        const tick = h("span", { class: "tl-tick" }, "+" + dur(total * f));
        tick.style.left = f * 100 + "%";
        return tick;
      }))));
    const marks = h("div", { class: "tl-track" });
    for (const mk of tl.markers) {
      const dot = h("span", { class: "tl-marker m-" + mk.type, title: "#" + mk.eventId + " " + mk.label + " at +" + dur(mk.atMs - t0) });
      dot.style.left = pos(mk.atMs) + "%";
      marks.append(dot);
    }
    wrap.append(h("div", { class: "tl-row" }, h("div", { class: "tl-label muted" }, "markers"), marks));
    const spanRow = (s) => {
      const end = s.endMs === null ? tl.endMs : s.endMs;
      const label = s.name + (s.attempt > 1 ? " · attempt " + s.attempt : "");
      const took = dur(end - s.startMs);
      const bar = h("div", {
        class: "tl-bar k-" + s.kind + " o-" + s.outcome,
        title: s.kind + " " + label + ": " + s.outcome + (s.endMs === null ? " so far " : " after ") + took + (s.detail ? " — " + s.detail : ""),
      }, took);
      bar.style.left = pos(s.startMs) + "%";
      bar.style.width = Math.max(0.4, pos(end) - pos(s.startMs)) + "%";
      const lab = h("div", { class: "tl-label" }, h("span", { class: "kind k-" + s.kind }, s.kind), " ",
        s.kind === "suborchestration" && s.detail ? h("a", { href: instanceHref(s.detail), class: "id" }, label) : label);
      return h("div", { class: "tl-row span-row", "data-kind": s.kind, "data-outcome": s.outcome, "data-attempt": s.attempt }, lab, h("div", { class: "tl-track" }, bar));
    };
    const body = h("div", { class: "tl-body", id: "timeline-body" });
    if (tl.spans.length === 0) body.append(h("p", { class: "muted" }, "No activities, timers, events or sub-orchestrations in this execution."));
    else if (tl.spans.length <= TIMELINE_DIRECT_ROWS) {
      const frag = document.createDocumentFragment();
      for (const s of tl.spans) frag.append(spanRow(s));
      body.append(frag);
    } else {
      // Thousands of bars: only the rows in view (plus a margin) exist in the DOM.
      const inner = h("div", { class: "tl-virtual" });
      inner.style.height = tl.spans.length * ROW_PX + "px";
      body.append(inner);
      let drawn = "";
      const draw = () => {
        const first = Math.max(0, Math.floor(body.scrollTop / ROW_PX) - 20);
        const last = Math.min(tl.spans.length, first + Math.ceil((body.clientHeight || 520) / ROW_PX) + 40);
        if (drawn === first + ":" + last) return;
        drawn = first + ":" + last;
        const frag = document.createDocumentFragment();
        for (let i = first; i < last; i++) {
          const row = spanRow(tl.spans[i]);
          row.style.top = i * ROW_PX + "px";
          frag.append(row);
        }
        clear(inner).append(frag);
      };
      let queued = false;
      body.addEventListener("scroll", () => {
        if (queued) return;
        queued = true;
        requestAnimationFrame(() => {
          queued = false;
          draw();
        });
      });
      requestAnimationFrame(draw);
      draw();
    }
    wrap.append(body);
    return wrap;
  }

  function treeView(tree, details) {
    if (!tree || tree.root.children.length === 0) return h("p", { class: "muted", id: "tree" }, details.childCount > 0 ? details.childCount + " children scheduled, none started yet" : "No sub-orchestrations.");
    const node = (n) => h("li", null,
      h("a", { href: instanceHref(n.instanceId), class: "id" }, n.instanceId), " ", h("span", { class: "muted" }, n.orchestrationName), " ", badge(n.status),
      n.children.length ? h("ul", null, n.children.map(node)) : null);
    return h("div", { id: "tree" }, h("ul", { class: "tree" }, node(tree.root)), tree.truncated ? h("p", { class: "muted" }, "showing part of " + tree.size + " instances") : null);
  }

  function eventsTable(details, history) {
    const events = history.events.slice();
    const total = history.eventCount;
    const t0 = events.length ? events[0].timestampMs : 0;
    const tbody = h("tbody");
    const more = h("button", { id: "events-more" });
    let shown = 0;
    const draw = () => {
      const frag = document.createDocumentFragment();
      const end = Math.min(events.length, shown + EVENTS_PER_CHUNK);
      for (let i = shown; i < end; i++) {
        const { eventId, sourceEventId, timestampMs, type, instanceId, executionId, duroxideVersion, ...rest } = events[i];
        frag.append(h("tr", null, h("td", { class: "num" }, eventId), h("td", { class: "num" }, sourceEventId === null ? "" : sourceEventId),
          h("td", { class: "num" }, "+" + dur(timestampMs - t0)), h("td", null, type), h("td", null, h("code", null, JSON.stringify(rest)))));
      }
      tbody.append(frag);
      shown = end;
      more.hidden = shown >= total;
      clear(more).append("Show " + Math.min(EVENTS_PER_CHUNK, total - shown) + " more of " + (total - shown));
    };
    more.addEventListener("click", async () => {
      if (shown >= events.length) {
        try {
          const page = await api("instances/" + encodeURIComponent(details.instanceId) + "/events?execution=" + history.executionId + "&offset=" + events.length + "&limit=" + EVENTS_PER_CHUNK);
          events.push(...page.events);
        } catch (err) {
          showError(err);
          return;
        }
      }
      draw();
    });
    draw();
    return h("div", null, h("table", { class: "grid events", id: "events" }, h("thead", null, h("tr", null, ["#", "source", "at", "event", "data"].map((c) => h("th", null, c)))), tbody), more);
  }

  // ------------------------------------------------------------------ system page

  async function renderSystem(seq) {
    try {
      const s = await api("system");
      if (seq !== renderSeq) return;
      const m = clear(main());
      const card = (label, value, id) => h("div", { class: "card", id }, h("div", { class: "card-value" }, value), h("div", { class: "card-label" }, label));
      m.append(
        h("h1", null, "System"),
        h("h2", null, "Instances by status"),
        h("div", { class: "cards" },
          card("total", s.metrics.totalInstances, "m-total"),
          card("running", s.metrics.runningInstances, "m-running"),
          card("completed", s.metrics.completedInstances, "m-completed"),
          card("failed", s.metrics.failedInstances, "m-failed"),
          card("executions", s.metrics.totalExecutions, "m-executions"),
          card("history events", s.metrics.totalEvents, "m-events")),
        h("h2", null, "Queue depths"),
        h("div", { class: "cards" },
          card("orchestrator queue", s.queues.orchestratorQueue, "q-orchestrator"),
          card("worker queue", s.queues.workerQueue, "q-worker"),
          card("timer queue", s.queues.timerQueue, "q-timer")),
        h("h2", null, "Throughput"),
        h("div", { class: "cards" },
          card("finished / minute", s.throughputPerMinute === null ? "measuring…" : s.throughputPerMinute.toFixed(1), "throughput")),
        h("p", { class: "muted" }, "Sampled " + iso(s.sampledAt) + "; throughput counts instances that completed or failed while this page was open."),
      );
      document.body.dataset.ready = "system";
      schedule(() => renderSystem(seq));
    } catch (err) {
      if (seq === renderSeq) showError(err);
    }
  }

  // ------------------------------------------------------------------ router

  function render() {
    renderSeq++;
    if (refreshTimer) clearTimeout(refreshTimer);
    refreshTimer = null;
    delete document.body.dataset.ready;
    clearFlash();
    if (flashAfterRender) {
      showInfo(flashAfterRender);
      flashAfterRender = null;
    }
    const { path, params } = parseHashQuery();
    for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.getAttribute("href") === "#" + (path.startsWith("/instance/") ? "/" : path || "/"));
    if (path.startsWith("/instance/")) {
      let id;
      try {
        id = decodeURIComponent(path.slice("/instance/".length));
      } catch {
        showError("malformed instance link");
        return;
      }
      renderInstance(id, params, renderSeq);
    } else if (path === "/system") renderSystem(renderSeq);
    else renderList(params);
  }

  async function boot() {
    try {
      config = await api("config");
    } catch (err) {
      showError(err);
      return;
    }
    document.getElementById("mode").textContent = config.allowActions ? "actions enabled" : "read-only";
    window.addEventListener("hashchange", render);
    render();
  }
  boot();
}
