// assay dashboard: sortable and filterable tables, the compare picker, and live progress without reloads.
// No framework and no other origin: this file ships inside the Python package.
"use strict";

(function () {
  const POLL_ACTIVE_MS = 1500;
  const POLL_IDLE_MS = 8000;
  const STATES = ["succeeded", "failed", "running", "queued"];

  // ---- sorting ---------------------------------------------------------------------------------------------

  function cellValue(row, index) {
    const cell = row.children[index];
    return cell ? (cell.dataset.v !== undefined ? cell.dataset.v : cell.textContent.trim()) : "";
  }

  function sortTable(table, header) {
    const index = Array.prototype.indexOf.call(header.parentNode.children, header);
    const numeric = header.dataset.sort === "number";
    const ascending = header.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th[aria-sort]").forEach((th) => th.removeAttribute("aria-sort"));
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    rows.sort((a, b) => {
      const x = cellValue(a, index), y = cellValue(b, index);
      if (x === "" || y === "") { return (x === "") - (y === ""); }  // missing values last either way
      let order;
      if (numeric) { order = parseFloat(x) - parseFloat(y); }
      else {
        // hyperparameter values: numbers compare as numbers, anything else as text
        const nx = Number(x), ny = Number(y);
        order = (isFinite(nx) && isFinite(ny)) ? nx - ny : x.localeCompare(y, undefined, { numeric: true });
      }
      return ascending ? order : -order;
    });
    rows.forEach((row) => body.appendChild(row));
    table.dataset.sortIndex = index;
    table.dataset.sortAscending = ascending ? "1" : "0";
  }

  function setUpSorting(root, previous) {
    root.querySelectorAll("table.sortable").forEach((table) => {
      table.querySelectorAll("th[data-sort]").forEach((th) => {
        th.addEventListener("click", () => sortTable(table, th));
        th.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortTable(table, th); }
        });
      });
      if (previous && previous.index !== undefined) {  // keep the user's sort across live refreshes
        const th = table.tHead.rows[0].children[previous.index];
        if (th) {
          th.setAttribute("aria-sort", previous.ascending ? "descending" : "ascending");
          sortTable(table, th);
        }
      }
    });
  }

  // ---- filtering -------------------------------------------------------------------------------------------

  function applyFilter(root) {
    const input = root.querySelector("#board-filter");
    const table = root.querySelector("#leaderboard");
    if (!input || !table) { return; }
    const tokens = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    Array.from(table.tBodies[0].rows).forEach((row) => {
      const names = Array.from(row.querySelectorAll("td.hpcell")).map(
        (cell) => (cell.dataset.name + "=" + cell.textContent.trim()).toLowerCase());
      const text = row.textContent.toLowerCase();
      const match = tokens.every((token) => token.includes("=")
        ? names.some((pair) => pair === token || pair.startsWith(token))
        : text.includes(token));
      row.hidden = !match;
      if (match) { shown += 1; }
    });
    const note = root.querySelector("#board-shown");
    if (note) { note.textContent = tokens.length ? shown + " shown by the filter." : ""; }
  }

  // ---- compare picker --------------------------------------------------------------------------------------

  function updateCompare(root) {
    const form = root.querySelector("#compare-form");
    if (!form) { return; }
    const ticked = form.querySelectorAll("input[name=id]:checked").length;
    const button = form.querySelector("#compare-button");
    const count = form.querySelector("#compare-count");
    button.disabled = ticked < 2 || ticked > 4;
    count.textContent = ticked === 0 ? "choose 2–4" : ticked + " chosen" + (ticked > 4 ? " (at most 4)" : "");
  }

  function setUpBoard(root, state) {
    setUpSorting(root, state && state.sort);
    const input = root.querySelector("#board-filter");
    if (input) {
      if (state && state.filter) { input.value = state.filter; }
      input.addEventListener("input", () => applyFilter(root));
      applyFilter(root);
    }
    const form = root.querySelector("#compare-form");
    if (form) {
      if (state && state.picked) {
        form.querySelectorAll("input[name=id]").forEach((box) => { box.checked = state.picked.includes(box.value); });
      }
      form.addEventListener("change", () => updateCompare(root));
      updateCompare(root);
    }
    root.querySelectorAll("select[data-autosubmit]").forEach((select) => {
      select.addEventListener("change", () => select.form.submit());
    });
  }

  function boardState(root) {
    const table = root.querySelector("#leaderboard");
    const input = root.querySelector("#board-filter");
    return {
      sort: table && table.dataset.sortIndex !== undefined
        ? { index: Number(table.dataset.sortIndex), ascending: table.dataset.sortAscending === "1" } : null,
      filter: input ? input.value : "",
      picked: Array.from(root.querySelectorAll("#compare-form input[name=id]:checked")).map((box) => box.value),
    };
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
    const live = document.getElementById("live");
    const badge = document.querySelector("[data-badge]");
    if (badge) {
      badge.textContent = progress.active ? "running" : (progress.counts.failed ? "finished with failures" : "finished");
      badge.className = "badge " + (progress.active ? "badge-running" : (progress.counts.failed ? "badge-failed" : "badge-done"));
    }
    if (live) {
      const state = boardState(live);
      const response = await fetch(live.dataset.liveUrl + window.location.search, { headers: { Accept: "text/html" } });
      if (response.ok) {
        live.innerHTML = await response.text();
        setUpBoard(live, state);
      }
    }
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
              if (progress.signature !== document.body.dataset.signature) {
                document.body.dataset.signature = progress.signature;
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

  document.addEventListener("DOMContentLoaded", () => {
    setUpBoard(document, null);
    startPolling();
  });
})();
