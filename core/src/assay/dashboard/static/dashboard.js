// assay dashboard: sortable and filterable tables, the compare picker, and live progress without reloads.
// No framework and no other origin: this file ships inside the Python package.
"use strict";

(function () {
  const POLL_ACTIVE_MS = 1500;
  const POLL_IDLE_MS = 8000;
  const REFRESH_MIN_MS = 4000;
  // the p-values against the best are computed after the leaderboard is shown: ask again until they are there
  const SIGNIFICANCE_RETRY_MS = 600;
  const SIGNIFICANCE_TRIES = 100;
  let significanceTries = 0;
  let lastRefresh = 0;
  const STATES = ["succeeded", "pruned", "failed", "running", "queued"];

  // ---- the leaderboard: sorted, filtered and paged by the server, swapped in without a reload ----------------

  const picked = new Set();  // predictors ticked for comparison, kept across pages and live refreshes
  let filterTimer = null;

  async function loadLive(search) {
    const live = document.getElementById("live");
    if (!live) { return; }
    const response = await fetch(live.dataset.liveUrl + search, { headers: { Accept: "text/html" } });
    if (!response.ok) { return; }
    const focused = document.activeElement && document.activeElement.id;
    const caret = focused === "board-filter" ? document.activeElement.selectionStart : null;
    live.innerHTML = await response.text();
    if (search !== window.location.search) {
      window.history.replaceState(null, "", window.location.pathname + search);
    }
    setUpBoard(live);
    if (focused === "board-filter") {  // typing goes on where it was
      const input = document.getElementById("board-filter");
      if (input) { input.focus(); input.setSelectionRange(caret, caret); }
    }
  }

  function updateCompare(root) {
    const form = root.querySelector("#compare-form");
    if (!form) { return; }
    const button = form.querySelector("#compare-button");
    const count = form.querySelector("#compare-count");
    button.disabled = picked.size < 2 || picked.size > 4;
    count.textContent = picked.size === 0 ? "choose 2–4"
      : picked.size + " chosen" + (picked.size > 4 ? " (at most 4)" : "");
  }

  function setUpBoard(root) {
    if (root.querySelector("[data-significance-pending]") && significanceTries < SIGNIFICANCE_TRIES) {
      significanceTries += 1;
      window.setTimeout(() => loadLive(window.location.search), SIGNIFICANCE_RETRY_MS);
    }
    root.querySelectorAll("a[data-live]").forEach((link) => {
      link.addEventListener("click", (event) => {
        if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
        event.preventDefault();
        loadLive(new URL(link.href, window.location.href).search);
      });
    });
    const input = root.querySelector("#board-filter");
    if (input) {
      input.addEventListener("input", () => {
        window.clearTimeout(filterTimer);
        filterTimer = window.setTimeout(() => {
          const params = new URLSearchParams(window.location.search);
          if (input.value) { params.set("filter", input.value); } else { params.delete("filter"); }
          params.delete("page");
          const query = params.toString();
          loadLive(query ? "?" + query : "");
        }, 250);
      });
      input.form.addEventListener("submit", (event) => event.preventDefault());
    }
    root.querySelectorAll("select[data-autosubmit]").forEach((select) => {
      select.addEventListener("change", () => {
        const params = new URLSearchParams(new FormData(select.form));
        params.delete("page");
        window.location.search = "?" + params.toString();  // the plot follows the split and metric too
      });
    });
    root.querySelectorAll("input[name=id][form=compare-form]").forEach((box) => {
      box.checked = picked.has(box.value);
      box.addEventListener("change", () => {
        if (box.checked) { picked.add(box.value); } else { picked.delete(box.value); }
        updateCompare(root);
      });
    });
    const form = root.querySelector("#compare-form");
    if (form) {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const ids = Array.from(picked).map((id) => "id=" + encodeURIComponent(id)).join("&");
        window.location.href = form.action + "?" + ids;
      });
      updateCompare(root);
    }
  }

  // ---- live progress ---------------------------------------------------------------------------------------

  function updateProgress(scope, progress) {
    STATES.concat(["finished", "total"]).forEach((name) => {
      const value = name === "finished" ? progress.finished : name === "total" ? progress.total : progress.counts[name];
      scope.querySelectorAll('[data-count="' + name + '"]').forEach((element) => {
        if (value !== undefined) { element.textContent = value; }
      });
    });
    scope.querySelectorAll(".progress svg").forEach((svg) => {
      let x = 0;
      STATES.forEach((state) => {
        const rect = svg.querySelector('rect[data-state="' + state + '"]');
        const width = progress.percent[state] || 0;
        if (rect) { rect.setAttribute("x", x.toFixed(3)); rect.setAttribute("width", width.toFixed(3)); }
        x += width;
      });
    });
  }

  async function refreshQueuePage(progress) {
    const badge = document.querySelector("[data-badge]");
    if (badge) {
      badge.textContent = progress.active ? "running" : (progress.counts.failed ? "finished with failures" : "finished");
      badge.className = "badge " + (progress.active ? "badge-running" : (progress.counts.failed ? "badge-failed" : "badge-done"));
    }
    await loadLive(window.location.search);
    document.querySelectorAll("#search img[data-refresh]").forEach((search) => {
      const url = new URL(search.src, window.location.href);
      url.searchParams.set("v", progress.signature);
      search.src = url.pathname + url.search;
    });
    const image = document.getElementById("performance");
    if (image) {
      const url = new URL(image.src, window.location.href);
      url.searchParams.set("v", progress.signature);
      image.src = url.pathname + url.search;
    } else if (progress.counts.succeeded) {
      const empty = document.querySelector("[data-empty-performance]");
      if (empty) {  // the first model finished: the plot takes the placeholder's place
        const added = document.createElement("img");
        added.id = "performance";
        added.alt = "Performance of every model of this queue";
        added.src = empty.dataset.emptyPerformance + "?v=" + encodeURIComponent(progress.signature);
        empty.replaceChildren(added);
        empty.removeAttribute("data-empty-performance");
      }
    }
  }

  function startPolling() {
    const url = document.body.dataset.poll;
    if (!url) { return; }
    let timer = null;
    async function poll() {
      let active = false;
      try {
        const response = await fetch(url, { cache: "no-store" });
        if (response.ok) {
          const all = await response.json();
          const queueId = document.body.dataset.queue;
          for (const [id, progress] of Object.entries(all)) {
            active = active || progress.active;
            if (queueId) {
              if (id !== queueId) { continue; }
              updateProgress(document, progress);
              // a big queue's leaderboard costs the server a moment: redraw it at most every few seconds
              const due = !progress.active || Date.now() - lastRefresh >= REFRESH_MIN_MS;
              if (progress.signature !== document.body.dataset.signature && due) {
                document.body.dataset.signature = progress.signature;
                lastRefresh = Date.now();
                await refreshQueuePage(progress);
              }
            } else {
              const row = document.querySelector('tr[data-queue="' + id + '"]');
              if (row) { updateProgress(row, progress); }
            }
          }
        }
      } catch (error) {
        active = false;  // the server stopped: try again later, quietly
      }
      document.body.classList.toggle("live", active);
      timer = window.setTimeout(poll, active ? POLL_ACTIVE_MS : POLL_IDLE_MS);
    }
    timer = window.setTimeout(poll, POLL_ACTIVE_MS);
    window.addEventListener("beforeunload", () => window.clearTimeout(timer));
  }

  // ---- the what-if form: a prediction as values change (every value shown with textContent, never as markup) --

  function setUpWhatIf() {
    const form = document.getElementById("whatif");
    if (!form) { return; }
    const prediction = document.getElementById("whatif-prediction");
    const error = document.getElementById("whatif-error");
    const table = document.getElementById("whatif-probabilities");
    let timer = null;
    let asked = 0;
    async function ask() {
      const number = ++asked;
      const query = new URLSearchParams(new FormData(form)).toString();
      let body;
      try {
        const response = await fetch(form.dataset.url + "?" + query, { headers: { Accept: "application/json" } });
        body = await response.json();
      } catch (failure) {
        body = { error: "the dashboard did not answer" };
      }
      if (number !== asked) { return; }  // an older answer arriving late
      error.textContent = body.error || "";
      form.dataset.state = body.error ? "error" : "ok";
      if (body.error) { return; }
      prediction.textContent = body.prediction;
      const rows = table.tBodies[0];
      rows.replaceChildren();
      for (const item of body.probabilities) {
        const row = rows.insertRow();
        const name = row.insertCell(); name.className = "text"; name.textContent = item["class"];
        const value = row.insertCell(); value.className = "number"; value.textContent = item.shown;
        const bar = row.insertCell(); bar.className = "bar";
        const fill = document.createElement("progress"); fill.max = 1; fill.value = item.probability;
        bar.appendChild(fill);
      }
      form.dataset.answered = String(number);
    }
    form.addEventListener("input", () => { window.clearTimeout(timer); timer = window.setTimeout(ask, 150); });
    form.addEventListener("change", () => { window.clearTimeout(timer); timer = window.setTimeout(ask, 0); });
    form.addEventListener("submit", (event) => { event.preventDefault(); ask(); });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const live = document.getElementById("live");
    if (live) { setUpBoard(live); }
    setUpWhatIf();
    startPolling();
  });
})();
