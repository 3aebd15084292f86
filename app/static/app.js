// Switchboard's own behaviour on top of htmx: live times, keyboard, composer, presence.
(function () {
  "use strict";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const csrf = () => ($('meta[name="csrf-token"]') || {}).content || "";

  // ---- notices: errors from htmx requests are shown, never swallowed ----
  function notice(text) {
    const box = $("#notice");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    clearTimeout(notice.timer);
    notice.timer = setTimeout(() => { box.hidden = true; }, 8000);
  }
  document.addEventListener("htmx:responseError", (e) => {
    const xhr = e.detail.xhr;
    notice(xhr.responseText && xhr.responseText.length < 500 ? xhr.responseText : `Error ${xhr.status}`);
  });
  document.addEventListener("htmx:sendError", () => notice("Cannot reach Switchboard; check the connection."));
  // The next action that works makes an earlier error old news; a live refresh in the
  // background is not the agent's action and leaves it up.
  document.addEventListener("htmx:afterRequest", (e) => {
    const el = e.detail.elt;
    const background = el && el.matches && el.matches('[data-live-list], [hx-trigger^="sse:"]');
    const box = $("#notice");
    if (!e.detail.successful || background || !box) return;
    clearTimeout(notice.timer);
    box.hidden = true;
  });

  // ---- live times ----
  function span(seconds) {
    if (seconds < 60) return seconds < 10 ? "just now" : `${seconds}s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
    return `${Math.floor(seconds / 86400)}d`;
  }
  // Time left on an SLA clock, as the server writes it (app/web.py duration).
  function duration(seconds) {
    const m = Math.floor(Math.max(0, seconds) / 60);
    if (m < 60) return `${m}m`;
    if (m < 1440) return `${Math.floor(m / 60)}h ${m % 60}m`;
    return `${Math.floor(m / 1440)}d ${Math.floor((m % 1440) / 60)}h`;
  }
  // SLA badges count down, turn at risk and then breached while the page is open.
  function slaTick() {
    const now = Date.now();
    for (const el of $$("[data-sla-due]")) {
      const due = Date.parse(el.dataset.slaDue);
      const risk = Date.parse(el.dataset.slaRisk);
      const state = due <= now ? "breached" : risk <= now ? "at_risk" : "ok";
      const left = duration((due - now) / 1000);
      el.className = `sla sla-${state}`;
      el.textContent = state === "breached" ? "SLA breached"
        : state === "at_risk" ? `SLA at risk · ${left} left` : `SLA ${left} left`;
    }
  }
  setInterval(slaTick, 30000);
  document.addEventListener("DOMContentLoaded", slaTick);
  document.addEventListener("htmx:afterSettle", slaTick);
  function tick() {
    const now = Date.now();
    // An SLA clock that runs out turns red at once, not at the next half-minute.
    for (const el of $$("[data-sla-due]")) {
      if (!el.classList.contains("sla-breached") && Date.parse(el.dataset.slaDue) <= now) slaTick();
    }
    for (const el of $$("[data-since]")) el.textContent = span(Math.max(0, Math.floor((now - Date.parse(el.dataset.since)) / 1000)));
    for (const el of $$("[data-ago]")) {
      const s = Math.max(0, Math.floor((now - Date.parse(el.dataset.ago)) / 1000));
      el.textContent = s < 10 ? "just now" : `${span(s)} ago`;
    }
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);

  // ---- the agent's own time zone: a datetime-local value is wall time there ----
  function zone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (_) { return "UTC"; }
  }
  function localTimes() {
    for (const el of $$("[data-time-zone]")) el.value = zone();
    for (const el of $$("time[data-local-time]")) {
      const at = new Date(el.getAttribute("datetime"));
      if (isNaN(at)) continue;
      el.textContent = at.toLocaleString(undefined, {
        weekday: "short", day: "numeric", month: "short", year: "numeric",
        hour: "numeric", minute: "2-digit", timeZoneName: "short",
      });
      el.title = el.getAttribute("datetime");
    }
  }
  document.addEventListener("DOMContentLoaded", localTimes);
  document.addEventListener("htmx:afterSettle", localTimes);

  // ---- the list: selection, bulk bar, live refresh that respects a selection ----
  let selected = 0;
  function rows() { return $$(".rows .row"); }
  function select(i, focus = true) {
    const all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(all.length - 1, i));
    all.forEach((r, n) => r.classList.toggle("selected", n === selected));
    if (!focus) return;
    all[selected].scrollIntoView({ block: "nearest" });
    const link = $(".rowlink", all[selected]);
    if (link) link.focus({ preventScroll: true });
  }
  // A live refresh asks for as many rows as are loaded ("Load more" included) and puts the
  // selection back on the same conversation, wherever it moved to.
  let keepSelected = null;
  document.addEventListener("htmx:configRequest", (e) => {
    if (e.detail.elt.matches && e.detail.elt.matches("[data-live-list], [data-bulk]")) e.detail.parameters.shown = rows().length;
  });
  document.addEventListener("htmx:beforeSwap", (e) => {
    if (e.detail.target && e.detail.target.id === "list") {
      const r = rows()[selected];
      keepSelected = r ? r.dataset.conversation : null;
    }
  });
  document.addEventListener("htmx:afterSettle", (e) => {
    if (!e.detail.target || e.detail.target.id !== "list") return;
    const i = rows().findIndex((r) => r.dataset.conversation === keepSelected);
    // Focus follows only if it was on the list (a swapped-out row drops it to the body),
    // not when the agent is typing in the search box meanwhile.
    const lost = !document.activeElement || document.activeElement === document.body;
    select(i >= 0 ? i : selected, lost);
  });
  document.addEventListener("change", (e) => {
    const t = e.target;
    if (t.matches("[data-select-all]")) $$('.rows input[name="ids"]').forEach((b) => { b.checked = t.checked; });
    if (t.matches('.bulkbar select[name="action"]')) {
      for (const el of $$("[data-bulk-for]")) el.disabled = el.dataset.bulkFor !== t.value;
    }
    if (t.matches("[data-private-switch]")) updateComposer();
  });
  document.addEventListener("htmx:beforeRequest", (e) => {
    const el = e.detail.elt;
    if (el.matches && el.matches("[data-live-list]") && $$('.rows input[name="ids"]:checked').length) e.preventDefault();
  });

  // ---- the side panel: a live refresh never wipes what the agent is typing there ----
  function fieldsOf(panel) { return $$("input:not([type=hidden]), textarea, select", panel); }
  function typedIn(el) {
    if (el.matches("select")) {
      // Without a `selected` option a select starts on its first one.
      const first = Array.from(el.options).findIndex((o) => o.defaultSelected);
      return el.selectedIndex !== Math.max(0, first);
    }
    return el.value !== el.defaultValue;
  }
  function panelBusy(panel) {
    return panel.contains(document.activeElement) && document.activeElement !== panel
      || fieldsOf(panel).some(typedIn);
  }
  function refreshPanel(panel) {
    delete panel.dataset.stale;
    htmx.ajax("GET", panel.getAttribute("hx-get"), { source: panel, target: panel, swap: "innerHTML" });
  }
  document.addEventListener("htmx:beforeRequest", (e) => {
    const el = e.detail.elt;
    // Only the live refresh (a GET from the panel itself); the panel's own forms go ahead.
    if (el.id === "details" && panelBusy(el)) { el.dataset.stale = "1"; e.preventDefault(); }
  });
  // The agent may have started typing while the refresh was on its way. (beforeSwap fires
  // on the target: the request's own element tells the refresh from a form's response.)
  document.addEventListener("htmx:beforeSwap", (e) => {
    const el = e.detail.requestConfig && e.detail.requestConfig.elt;
    if (el && el.id === "details" && panelBusy(el)) {
      el.dataset.stale = "1";
      e.detail.shouldSwap = false;
    }
  });
  // Once the agent is done (left the panel with nothing typed, or cleared it), catch up.
  function catchUp() {
    const panel = $("#details");
    if (panel && panel.dataset.stale && !panelBusy(panel)) refreshPanel(panel);
  }
  document.addEventListener("focusout", (e) => {
    if (e.target.closest && e.target.closest("#details")) setTimeout(catchUp, 0);
  });
  // A form's own response swaps the panel too; a refresh held back meanwhile still follows,
  // as it may carry a colleague's change made before this one.
  document.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target && e.detail.target.id === "details") setTimeout(catchUp, 0);
  });

  // Back to the list shows a copy the browser kept (back/forward cache or HTTP cache) from
  // before whatever was done meanwhile, and the live stream missed those changes: reload it.
  window.addEventListener("pageshow", (e) => {
    const nav = performance.getEntriesByType("navigation")[0];
    const fromHistory = e.persisted || (nav && nav.type === "back_forward");
    if (fromHistory && $("#list") && window.htmx) {
      // Without no-cache Chrome answers this from the same stale cache during a back load.
      htmx.ajax("GET", location.pathname + location.search,
        { target: "#list", swap: "innerHTML", headers: { "Cache-Control": "no-cache" } });
    }
  });

  // ---- X's weighted post length: a port of connectors/x_text.py (twitter-text v3) ----
  // Keep the two in step: the counter must agree with what the server will accept.
  const X_LIGHT = [[0, 4351], [8192, 8205], [8208, 8223], [8242, 8247]];
  const X_TLDS = "com|net|org|info|biz|edu|gov|io|ai|app|dev|co|me|tv|ly|xyz|shop|store|online|site";
  // Python's \w is Unicode-aware; in JavaScript that is [\p{L}\p{N}_].
  const X_URL = new RegExp(String.raw`(?<![\p{L}\p{N}_@＠$#＃./-])`
    + String.raw`(?:https?://[^\s/?#]+\.[^\s/?#]+`
    + String.raw`|(?:www\.)?(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:${X_TLDS})(?![\p{L}\p{N}_-]))`
    + String.raw`(?:[/?#]\S*)?`, "giu");
  const X_TRAILING = ".,;:!?'\"…";
  const X_PICT = String.raw`\u203c\u2049\u2122\u2139\u2194-\u21aa\u231a-\u23ff\u24c2\u25aa-\u25fe\u2600-\u27bf`
    + String.raw`\u2934\u2935\u2b05-\u2b55\u3030\u303d\u3297\u3299\u{1f000}-\u{1faff}`;
  const X_ELEMENT = String.raw`(?:[${X_PICT}]\ufe0f?[\u{1f3fb}-\u{1f3ff}]?(?:[\u{e0020}-\u{e007e}]+\u{e007f})?|[\u00a9\u00ae]\ufe0f)`;
  const X_EMOJI = new RegExp(String.raw`[\u{1f1e6}-\u{1f1ff}]{2}|[0-9#*]\ufe0f?\u20e3|`
    + String.raw`${X_ELEMENT}(?:\u200d${X_ELEMENT})*`, "uy");
  function xWeigh(text) {
    let units = 0;
    let i = 0;
    while (i < text.length) {
      X_EMOJI.lastIndex = i;
      const emoji = X_EMOJI.exec(text);
      if (emoji) { units += 200; i += emoji[0].length; continue; }
      const cp = text.codePointAt(i);
      units += X_LIGHT.some(([lo, hi]) => lo <= cp && cp <= hi) ? 100 : 200;
      i += cp > 0xffff ? 2 : 1;
    }
    return units;
  }
  function xWeightedLength(raw) {
    const text = raw.normalize("NFC");
    const count = (s, c) => s.split(c).length - 1;
    let units = 0;
    let position = 0;
    for (const m of text.matchAll(X_URL)) {
      let link = m[0];
      while (link && X_TRAILING.includes(link[link.length - 1])) link = link.slice(0, -1);
      if (link.endsWith(")") && count(link, "(") < count(link, ")")) link = link.slice(0, -1);
      units += xWeigh(text.slice(position, m.index)) + 23 * 100;
      position = m.index + link.length;
    }
    units += xWeigh(text.slice(position));
    return Math.floor(units / 100);
  }

  // ---- composer: count, limit, personal data warning, drafts, canned responses ----
  const PERSONAL = /[\w.+-]+@[\w-]+\.[\w.]+|\+?\d[\d ()/-]{7,}\d/;
  function composer() { return $("#composer"); }
  function updateComposer() {
    const box = composer();
    if (!box) return;
    const form = box.form;
    const priv = $("[data-private-switch]", form);
    const limit = Number(priv && priv.checked ? form.dataset.privateLimit : form.dataset.limit);
    // A public X post counts as X counts it; the rest (and every DM) in characters.
    const weighted = form.dataset.weighted === "true" && !(priv && priv.checked);
    const n = weighted ? xWeightedLength(box.value) : Array.from(box.value).length;
    const count = $("#composer-count");
    count.textContent = `${n} / ${limit}`;
    count.classList.toggle("over", n > limit);
    const isPublic = form.dataset.public === "true" && !(priv && priv.checked);
    // The label says where the reply goes, so it follows the direct-message switch.
    const label = $("#composer-label", form);
    if (label) {
      label.dataset.publicText = label.dataset.publicText || label.textContent;
      label.textContent = priv && priv.checked ? label.dataset.privateText : label.dataset.publicText;
    }
    $("#composer-warning").hidden = !(isPublic && PERSONAL.test(box.value));
    if (box.dataset.draftKey) {
      if (box.value) localStorage.setItem(box.dataset.draftKey, box.value);
      else localStorage.removeItem(box.dataset.draftKey);
    }
    showCanned(box);
  }
  function fill(template, form) {
    return template
      .replaceAll("{first_name}", form.dataset.firstName || "")
      .replaceAll("{agent_name}", form.dataset.agentName || "")
      .replaceAll("{handle}", form.dataset.handle ? "@" + form.dataset.handle : "");
  }
  function cannedOptions() { return $$("#canned [data-canned]").filter((b) => !b.hidden); }
  function showCanned(box) {
    const list = $("#canned");
    if (!list) return;
    // Typing ends a picker opened over a draft (see openCanned): the draft is being edited.
    delete list.dataset.insertAt;
    const m = /^\/(\S*)$/.exec(box.value);
    if (!m) { list.hidden = true; return; }
    let first = true;
    for (const b of $$("[data-canned]", list)) {
      b.hidden = !b.dataset.shortcut.startsWith(m[1]);
      b.setAttribute("aria-selected", String(!b.hidden && first));
      if (!b.hidden) first = false;
    }
    list.hidden = cannedOptions().length === 0;
  }
  // "/" from outside the box: an empty box starts a "/shortcut" search as if typed; a draft
  // is kept, with the whole list offered and the choice put in where the cursor was.
  function openCanned() {
    const box = composer();
    const list = $("#canned");
    box.focus();
    if (!box.value) { box.value = "/"; updateComposer(); return; }
    if (!list) return;
    const opts = $$("[data-canned]", list);
    opts.forEach((b, n) => { b.hidden = false; b.setAttribute("aria-selected", String(n === 0)); });
    list.dataset.insertAt = String(box.selectionStart);
    list.hidden = opts.length === 0;
  }
  function useCanned(button) {
    const box = composer();
    const list = $("#canned");
    const text = fill(button.dataset.canned, box.form);
    const at = list.dataset.insertAt === undefined ? null : Number(list.dataset.insertAt);
    if (at === null) box.value = text;
    else {
      box.value = box.value.slice(0, at) + text + box.value.slice(at);
      box.setSelectionRange(at + text.length, at + text.length);
    }
    // Tells the server which canned response this was, and how it read before any edit.
    $("[data-canned-id]", box.form).value = button.dataset.cannedRef;
    $("[data-canned-text]", box.form).value = text;
    list.hidden = true;
    box.focus();
    updateComposer();
  }
  document.addEventListener("click", (e) => {
    const b = e.target.closest && e.target.closest("[data-canned]");
    if (b) useCanned(b);
    if (e.target.closest && e.target.closest("[data-shortcuts-open]")) $("#shortcuts").showModal();
  });
  let typingSent = 0;
  function typing(active) {
    const conv = $("[data-conversation-id]");
    if (!conv) return;
    const now = Date.now();
    if (active && now - typingSent < 3000) return;
    typingSent = active ? now : 0;
    fetch(`/conversations/${conv.dataset.conversationId}/typing`, {
      method: "POST", headers: { "X-CSRF-Token": csrf(), "Content-Type": "application/x-www-form-urlencoded" },
      body: `active=${active}`,
    }).catch(() => {});
  }
  document.addEventListener("input", (e) => {
    if (e.target.id === "composer") { updateComposer(); typing(true); }
  });
  document.addEventListener("focusout", (e) => { if (e.target.id === "composer") typing(false); });
  document.addEventListener("htmx:afterRequest", (e) => {
    const form = e.detail.elt;
    if (!e.detail.successful || !form.matches) return;
    if (form.matches("#composer-form")) {
      const box = composer();
      box.value = "";
      $("[data-canned-id]", form).value = "";
      $("[data-canned-text]", form).value = "";
      updateComposer();
      typing(false);
    }
    if (form.matches("#note-form")) form.reset();
  });
  document.addEventListener("DOMContentLoaded", () => {
    const box = composer();
    if (box && box.dataset.draftKey) {
      box.value = localStorage.getItem(box.dataset.draftKey) || "";
      updateComposer();
    }
    if ($(".rows .row")) select(0);
  });

  // On the list, e and a act on the selected row as the buttons do inside a conversation;
  // the list then shows the result (an error comes up as a notice).
  function onRow(e, path, values) {
    const r = rows()[selected];
    const live = $("[data-live-list]");
    if (!r || !live) return;
    e.preventDefault();
    htmx.ajax("POST", `/conversations/${r.dataset.conversation}/${path}`, { values, swap: "none", target: r })
      .then(() => { const l = $("[data-live-list]"); if (l) htmx.trigger(l, "sse:inbox"); });
  }

  // ---- keyboard ----
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    const typingInField = t.matches && t.matches("input, textarea, select");
    if (t.id === "composer" && !$("#canned").hidden) {
      const opts = cannedOptions();
      let i = opts.findIndex((b) => b.getAttribute("aria-selected") === "true");
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        i = (i + (e.key === "ArrowDown" ? 1 : opts.length - 1)) % opts.length;
        opts.forEach((b, n) => b.setAttribute("aria-selected", String(n === i)));
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") { e.preventDefault(); useCanned(opts[Math.max(0, i)]); return; }
      if (e.key === "Escape") { $("#canned").hidden = true; delete $("#canned").dataset.insertAt; return; }
    }
    if (e.key === "Escape" && typingInField) { t.blur(); return; }
    if (typingInField || e.ctrlKey || e.metaKey || e.altKey) return;
    const click = (sel) => { const el = $(sel); if (el) { e.preventDefault(); el.click(); } };
    switch (e.key) {
      case "j": e.preventDefault(); select(selected + 1); break;
      case "k": e.preventDefault(); select(selected - 1); break;
      case "Enter": { const r = rows()[selected]; if (r && !t.closest("form")) { e.preventDefault(); location.href = $(".rowlink", r).href; } break; }
      case "r": if (composer()) { e.preventDefault(); composer().focus(); } break;
      case "n": if ($("#note")) { e.preventDefault(); $("#note").focus(); } break;
      case "e": if ($('[data-action="resolve"]')) click('[data-action="resolve"]'); else onRow(e, "status", { action: "resolve" }); break;
      case "a": if ($('[data-action="take"]')) click('[data-action="take"]');
        else { const r = rows()[selected]; onRow(e, "assign", { assignee: "me", team: r ? r.dataset.team : "" }); } break;
      case "/": if ($("[data-search]")) { e.preventDefault(); $("[data-search]").focus(); }
        else if (composer()) { e.preventDefault(); openCanned(); } break;
      case "?": e.preventDefault(); $("#shortcuts").showModal(); break;
    }
  });
})();
