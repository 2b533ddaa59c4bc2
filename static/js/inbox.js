// Checkpoint inbox: keyboard shortcuts, the SLA countdown ticker, list selection, the live
// refresh (redraw the list only when the polled fingerprint changed) and the tab title count.
// Everything here is an enhancement: without JavaScript every link and button still works.
(function () {
  "use strict";

  const DUE_SOON_MS = 4 * 60 * 60 * 1000; // matches approvals.selectors.DUE_SOON
  const OUTCOME_KEYS = { a: "approve", r: "reject", c: "request_changes" };
  let pending = null; // the decision button waiting for confirmation
  let selectedId = null; // survives the list being redrawn under the reviewer

  const rows = () => Array.from(document.querySelectorAll("#queue [data-row]"));
  const narrow = () => window.matchMedia("(max-width: 900px)").matches;
  let queueScroll = null; // the list's scroll position across a live redraw
  const detail = () => document.querySelector("#detail [data-detail]");

  function isTyping(target) {
    if (!target || !target.closest) return false;
    return Boolean(
      target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']")
    );
  }

  // --- selection in the list -------------------------------------------------------------------

  function select(row, focus) {
    if (row) selectedId = row.dataset.id;
    rows().forEach((r) => {
      r.classList.toggle("is-current", r === row);
      const link = r.querySelector(".row-link");
      if (r === row) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    });
    if (row && focus) {
      row.querySelector(".row-link").focus();
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function selectById(id) {
    const row = rows().find((r) => r.dataset.id === id);
    if (row) select(row, false);
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const current = all.findIndex((r) => r.classList.contains("is-current"));
    const next = current === -1 ? (step > 0 ? 0 : all.length - 1) : current + step;
    select(all[Math.max(0, Math.min(all.length - 1, next))], true);
  }

  function openSelected() {
    const row = rows().find((r) => r.classList.contains("is-current"));
    if (row) row.querySelector(".row-link").click();
  }

  // --- bulk selection (templates/approvals/inbox_bulk_bar.html) --------------------------------
  // The selected ids outlive a redraw of the list (a decision, a refresh); a row that left the
  // page leaves the selection, so the bar never acts on something the reviewer cannot see.

  const selected = new Set();
  let lastToggled = null; // the anchor of a shift-click range

  const checks = () => Array.from(document.querySelectorAll("#queue .row-check"));

  function syncBulk() {
    const boxes = checks();
    const onPage = new Set(boxes.map((box) => box.value));
    Array.from(selected).forEach((id) => { if (!onPage.has(id)) selected.delete(id); });
    boxes.forEach((box) => {
      box.checked = selected.has(box.value);
      const row = box.closest("[data-row]");
      if (row) row.classList.toggle("is-selected", box.checked);
    });
    const bar = document.querySelector("[data-bulk-bar]");
    if (!bar) return;
    const count = selected.size;
    bar.toggleAttribute("data-empty", count === 0);
    bar.querySelectorAll("[data-selected-count]").forEach((el) => { el.textContent = String(count); });
    bar.querySelectorAll("[data-bulk-option]").forEach((button) => { button.disabled = count === 0; });
    const all = bar.querySelector("[data-select-all]");
    if (all) {
      all.checked = boxes.length > 0 && count === boxes.length;
      all.indeterminate = count > 0 && count < boxes.length;
      all.disabled = boxes.length === 0;
    }
  }

  function setChecked(box, on) {
    if (on) selected.add(box.value);
    else selected.delete(box.value);
  }

  function toggleCurrent() {
    const row = rows().find((r) => r.classList.contains("is-current"))
      || (document.activeElement && document.activeElement.closest
        && document.activeElement.closest("#queue [data-row]"));
    const box = row && row.querySelector(".row-check");
    if (!box) return;
    setChecked(box, !selected.has(box.value));
    lastToggled = box;
    syncBulk();
  }

  document.addEventListener("click", (event) => {
    const box = event.target.closest && event.target.closest("#queue .row-check");
    if (!box) return;
    const boxes = checks();
    if (event.shiftKey && lastToggled && boxes.includes(lastToggled)) {
      // Shift-click: every row between the last toggled one and this one takes this state.
      const [from, to] = [boxes.indexOf(lastToggled), boxes.indexOf(box)].sort((a, b) => a - b);
      boxes.slice(from, to + 1).forEach((each) => setChecked(each, box.checked));
    } else {
      setChecked(box, box.checked);
    }
    lastToggled = box;
    syncBulk();
  });

  document.addEventListener("change", (event) => {
    const all = event.target.closest && event.target.closest("[data-select-all]");
    if (!all) return;
    checks().forEach((box) => setChecked(box, all.checked));
    syncBulk();
  });

  document.body.addEventListener("htmx:afterSwap", (event) => {
    // The bar came back with the outcome: what was decided has left the list.
    if (event.target.id === "bulk-bar" && event.target.querySelector("[data-bulk-result]")) {
      selected.clear();
      lastToggled = null;
    }
  });

  // --- deciding with a confirm step ------------------------------------------------------------

  function choose(outcome) {
    const form = document.querySelector("#detail form[data-decide]");
    if (!form) return;
    const button = form.querySelector(`button[data-outcome="${outcome}"]`);
    if (!button) return;
    const comment = form.querySelector("textarea[name=comment]");
    if (button.hasAttribute("data-needs-comment") && comment && !comment.value.trim()) {
      // The service would refuse it: ask for the comment first, in place.
      comment.focus();
      comment.setAttribute("placeholder", `${button.dataset.label} needs a comment. Esc, then the key again.`);
      return;
    }
    const value = form.querySelector("input[name=value]");
    if (button.hasAttribute("data-needs-value") && value && !value.value.trim()) {
      value.focus();
      return;
    }
    const dialog = document.getElementById("confirm-dialog");
    if (!dialog) return;
    pending = button;
    const title = detail() ? detail().dataset.title : "";
    dialog.querySelector("#confirm-title").textContent = button.dataset.label;
    dialog.querySelector("#confirm-text").textContent = `${button.dataset.label}: “${title}”?`;
    dialog.showModal();
    dialog.querySelector("[data-confirm-ok]").focus();
  }

  document.addEventListener("close", (event) => {
    const dialog = event.target;
    if (!(dialog instanceof HTMLDialogElement) || dialog.id !== "confirm-dialog") return;
    const button = pending;
    pending = null;
    if (dialog.returnValue === "confirm" && button && button.isConnected) {
      // A real click, so htmx sends the button's name=value (the option) with the form.
      button.click();
    }
  }, true);

  // --- the keyboard -------------------------------------------------------------------------------

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (isTyping(event.target)) {
      if (event.key === "Escape") {
        // Leave the box, keep what is typed: a search box's own Esc would wipe the query
        // (and with it the list's filter), which the shortcut list does not promise.
        if (event.target.type === "search") event.preventDefault();
        event.target.blur();
      }
      return;
    }
    if (document.querySelector("dialog[open]")) return; // the dialog owns the keyboard
    const key = event.key;
    if (key === "j" || key === "k") {
      event.preventDefault();
      move(key === "j" ? 1 : -1);
    } else if (key === "Enter") {
      const active = document.activeElement;
      if (!active || active === document.body || active.classList.contains("row-link")) {
        event.preventDefault();
        openSelected();
      }
    } else if (key === "x") {
      event.preventDefault();
      toggleCurrent();
    } else if (key in OUTCOME_KEYS) {
      event.preventDefault();
      choose(OUTCOME_KEYS[key]);
    } else if (key === "/") {
      const search = document.getElementById("q");
      if (search) {
        event.preventDefault();
        search.focus();
        search.select();
      }
    } else if (key === "?") {
      event.preventDefault();
      const dialog = document.getElementById("shortcuts-dialog");
      if (dialog) dialog.showModal();
    }
  });

  document.addEventListener("click", (event) => {
    const opener = event.target.closest && event.target.closest("[data-open-shortcuts]");
    if (opener) {
      const dialog = document.getElementById("shortcuts-dialog");
      if (dialog) dialog.showModal();
      return;
    }
    const clear = event.target.closest && event.target.closest("[data-clear-filters]");
    const filters = document.getElementById("filters");
    if (clear && filters) {
      // Empty the search box and the selects too, then let the form fetch the list.
      event.preventDefault();
      filters.querySelectorAll("input[type=search]").forEach((input) => { input.value = ""; });
      filters.querySelectorAll("select").forEach((select) => { select.value = ""; });
      filters.requestSubmit();
      return;
    }
    const link = event.target.closest && event.target.closest("#queue .row-link");
    if (link) select(link.closest("[data-row]"), false);
  });

  // --- live: the counters poll; the list is redrawn only when its page changed --------------------

  function titleCount() {
    const views = document.getElementById("views");
    if (!views) return;
    const count = views.dataset.todo;
    const base = document.title.replace(/^\(\d+\+?\) /, "");
    document.title = count && count !== "0" ? `(${count}) ${base}` : base;
  }

  document.body.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (target && target.id === "detail" && narrow()) window.scrollTo(0, 0); // one pane on a phone
  });

  document.body.addEventListener("htmx:afterSettle", (event) => {
    const live = document.getElementById("live");
    const queue = document.getElementById("queue");
    const elt = event.detail.elt;
    if (elt && elt.id === "live" && live && queue && live.dataset.stamp !== queue.dataset.stamp) {
      queueScroll = queue.scrollTop;
      htmx.trigger(queue, "queue-stale");
    }
    if (elt && elt.id === "queue" && queue && queueScroll !== null) {
      queue.scrollTop = queueScroll;
      queueScroll = null;
    }
    titleCount();
  });

  // --- after HTMX swaps: keep the list's selection on what the detail pane shows --------------

  document.body.addEventListener("htmx:afterSettle", () => {
    const shown = detail();
    if (shown && shown.dataset.id) selectById(shown.dataset.id);
    else if (selectedId) selectById(selectedId);
    // After a decision the next item slides in and the list is redrawn: keep the keyboard on
    // the list's current row rather than losing focus to <body>.
    const focused = document.activeElement;
    if (!focused || focused === document.body || !document.body.contains(focused)) {
      const current = rows().find((r) => r.classList.contains("is-current"));
      if (current) current.querySelector(".row-link").focus({ preventScroll: true });
    }
    syncBulk();
    tick();
  });

  // --- the SLA countdown ------------------------------------------------------------------------

  function span(ms) {
    const minutes = Math.floor(Math.abs(ms) / 60000);
    const days = Math.floor(minutes / 1440);
    const hours = Math.floor((minutes % 1440) / 60);
    const mins = minutes % 60;
    if (days) return `${days}d ${hours}h`;
    if (hours) return `${hours}h ${mins}m`;
    return mins ? `${mins}m` : "<1m";
  }

  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-due]").forEach((el) => {
      const due = Date.parse(el.dataset.due);
      if (Number.isNaN(due)) return;
      const left = due - now;
      el.textContent = left < 0 ? `overdue ${span(left)}` : `due in ${span(left)}`;
      el.classList.toggle("due-overdue", left < 0);
      el.classList.toggle("due-soon", left >= 0 && left < DUE_SOON_MS);
      el.classList.toggle("due-ok", left >= DUE_SOON_MS);
    });
  }

  setInterval(tick, 30000);
  document.addEventListener("DOMContentLoaded", () => {
    const shown = detail();
    if (shown && shown.dataset.id) selectById(shown.dataset.id);
    syncBulk();
    tick();
  });
})();
