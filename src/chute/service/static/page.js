// The import service's page: upload (Uppy + tus), preview and mapping, jobs, datasets.
// Plain DOM, no build step; everything goes through the same HTTP API as scripts use.
"use strict";

const $ = (sel) => document.querySelector(sel);
const TYPES = ["bigint", "double", "numeric(38,2)", "boolean", "date", "timestamp",
  "timestamptz", "json", "uuid", "text"];
let token = localStorage.getItem("chute-token") || "";
let current = null; // the upload being mapped: {id, name, preview}
let existing = null; // the columns of the table named, if it exists

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${token}` }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const body = await response.json();
      detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    } catch (_) { /* not JSON */ }
    throw new Error(`${response.status}: ${detail}`);
  }
  return response;
}

// -- sign in ---------------------------------------------------------------------------

$("#token").value = token;
$("#signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  token = $("#token").value.trim();
  localStorage.setItem("chute-token", token);
  uppy.getPlugin("Tus").setOptions({ headers: { Authorization: `Bearer ${token}` } });
  await refreshJobs();
});

// -- upload ----------------------------------------------------------------------------

const uppy = new Uppy.Uppy({ autoProceed: false, restrictions: { maxNumberOfFiles: 1 } })
  .use(Uppy.Dashboard, { inline: true, target: "#dashboard", height: 260,
    proudlyDisplayPoweredByUppy: false, showProgressDetails: true })
  .use(Uppy.Tus, { endpoint: "/uploads", chunkSize: 8 * 1024 * 1024, retryDelays: [0, 1000, 3000, 5000],
    headers: { Authorization: `Bearer ${token}` }, removeFingerprintOnSuccess: true });

uppy.on("upload-success", async (file, response) => {
  const id = response.uploadURL.split("/").pop();
  await showPreview(id, file.name);
  uppy.clear();
});

// -- preview and mapping ----------------------------------------------------------------

async function showPreview(id, name) {
  $("#import-error").textContent = "";
  const preview = await (await api(`/uploads/${id}/preview?rows=5`)).json();
  current = { id, name, preview };
  $("#preview-file").textContent = `${name}: ${preview.format}, ${preview.columns.length} columns`;
  $("#target-name").value = name.replace(/\.[^.]*(\.gz)?$/, "").toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_").replace(/^([0-9])/, "t_$1");
  $("#unreadable").textContent = preview.unreadable.length
    ? `Not readable among the first rows: ${preview.unreadable.join("; ")}` : "";
  await lookUpTable(); // the columns are rendered before the section shows
  $("#mapping-section").hidden = false;
}

function renderColumns() {
  const body = $("#columns tbody");
  body.replaceChildren();
  for (const column of current.preview.columns) {
    let goesTo;
    if (existing) {
      goesTo = el("select", { className: "goes-to" });
      for (const target of existing) {
        goesTo.append(el("option", { value: target.name, textContent: target.name,
          selected: target.name === column.name }));
      }
    } else {
      goesTo = el("input", { className: "goes-to", value: column.name });
    }
    const type = el("select", { className: "type", disabled: Boolean(existing) });
    for (const t of new Set([column.type, ...TYPES])) {
      type.append(el("option", { value: t, textContent: t, selected: t === column.type }));
    }
    const values = current.preview.rows.map((row) => row[column.name]).filter((v) => v !== null);
    const row = el("tr", {}, el("td", { textContent: column.name }), el("td", {}, goesTo),
      el("td", {}, type), el("td", {}, el("input", { type: "checkbox", className: "skip" })),
      el("td", { className: "values", textContent: values.slice(0, 3).join(" · ") }));
    row.dataset.column = column.name;
    row.dataset.inferred = column.type;
    body.append(row);
  }
}

async function lookUpTable() {
  const name = $("#target-name").value.trim();
  existing = null;
  $("#table-state").textContent = "";
  if ($("#target-kind").value === "table" && /^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
    try {
      existing = (await (await api(`/tables/${name}`)).json()).columns;
      $("#table-state").textContent = `${name} exists: map the columns onto its own`;
    } catch (_) {
      $("#table-state").textContent = `a new table ${name} will be made`;
    }
  }
  renderColumns();
}
$("#target-name").addEventListener("change", lookUpTable);
$("#target-kind").addEventListener("change", lookUpTable);

$("#start-import").addEventListener("click", async () => {
  const request = { upload: current.id, mode: $("#mode").value, rename: {}, skip: [], types: {} };
  request[$("#target-kind").value] = $("#target-name").value.trim();
  const key = $("#key").value.split(",").map((k) => k.trim()).filter(Boolean);
  if (key.length) request.key = key;
  for (const row of document.querySelectorAll("#columns tbody tr")) {
    const column = row.dataset.column;
    const goesTo = row.querySelector(".goes-to").value.trim();
    if (row.querySelector(".skip").checked) { request.skip.push(column); continue; }
    if (goesTo && goesTo !== column) request.rename[column] = goesTo;
    const type = row.querySelector(".type").value;
    if (!existing && type !== row.dataset.inferred) request.types[goesTo || column] = type;
  }
  if (Object.keys(request.types).length) {
    // chosen types make the table: every column's type is then given, not only the changed
    for (const row of document.querySelectorAll("#columns tbody tr")) {
      if (row.querySelector(".skip").checked) continue;
      const name = row.querySelector(".goes-to").value.trim() || row.dataset.column;
      request.types[name] = row.querySelector(".type").value;
    }
  }
  try {
    await api("/imports", { method: "POST", body: JSON.stringify(request),
      headers: { "Content-Type": "application/json" } });
    $("#mapping-section").hidden = true;
    await refreshJobs();
  } catch (error) {
    $("#import-error").textContent = error.message;
  }
});

// -- jobs --------------------------------------------------------------------------------

async function refreshJobs() {
  if (!token) return;
  let jobs;
  try {
    jobs = await (await api("/imports")).json();
    $("#who").textContent = "signed in";
  } catch (error) {
    $("#who").textContent = error.message;
    return;
  }
  const body = $("#jobs tbody");
  body.replaceChildren();
  for (const job of jobs) {
    const done = job.bytes_total ? Math.round((100 * job.bytes_done) / job.bytes_total) : 0;
    const rejected = job.report ? job.report.rejected : 0;
    const actions = el("td");
    if (job.state === "queued" || job.state === "running") {
      actions.append(el("button", { className: "cancel", textContent: "Cancel",
        onclick: () => api(`/imports/${job.id}`, { method: "DELETE" }).then(refreshJobs) }));
    }
    if (rejected) {
      actions.append(el("button", { className: "rejects", textContent: "Rejects",
        onclick: () => downloadRejects(job.id) }));
    }
    const row = el("tr", { className: `job ${job.state}` },
      el("td", { textContent: job.id }),
      el("td", { textContent: job.table ? `table ${job.table}` : `dataset ${job.dataset}` }),
      el("td", { className: "state", textContent: job.state, title: job.error || "" }),
      el("td", {}, el("progress", { max: 100, value: job.state === "done" ? 100 : done })),
      el("td", { className: "rows", textContent: job.rows_done }),
      el("td", { className: "rejected", textContent: rejected }), actions);
    row.dataset.id = job.id;
    body.append(row);
  }
}

async function downloadRejects(id) {
  const blob = await (await api(`/imports/${id}/rejects`)).blob();
  const link = el("a", { href: URL.createObjectURL(blob), download: `import_${id}.rejects.jsonl` });
  link.click();
  URL.revokeObjectURL(link.href);
}

setInterval(refreshJobs, 1000);
refreshJobs();

// -- datasets ------------------------------------------------------------------------------

$("#dataset-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("#dataset-name").value.trim();
  const body = $("#log tbody");
  body.replaceChildren();
  $("#diff").replaceChildren();
  let log;
  try {
    log = await (await api(`/datasets/${name}/log`)).json();
  } catch (error) {
    $("#diff").textContent = error.message;
    return;
  }
  for (const commit of log) {
    const show = el("button", { textContent: "Diff", className: "show-diff",
      onclick: () => showDiff(name, commit) });
    body.append(el("tr", {}, el("td", { textContent: commit.id.slice(0, 10) }),
      el("td", { textContent: commit.created_at }), el("td", { textContent: commit.message }),
      el("td", { textContent: commit.added }), el("td", { textContent: commit.changed }),
      el("td", { textContent: commit.removed }), el("td", {}, commit.parents.length ? show : "")));
  }
});

async function showDiff(name, commit) {
  const diff = await (await api(`/datasets/${name}/diff?a=${commit.id}~1&b=${commit.id}`)).json();
  const rows = diff.changes.map((c) => el("tr", { className: c.change },
    el("td", { textContent: c.change }), el("td", { textContent: JSON.stringify(c.row) }),
    el("td", { textContent: c.before ? JSON.stringify(c.before) : "" })));
  $("#diff").replaceChildren(
    el("p", { textContent: `${diff.stat.added} added, ${diff.stat.changed} changed, ` +
      `${diff.stat.removed} removed${diff.truncated ? " (first rows shown)" : ""}` }),
    el("table", { className: "diff" }, el("thead", {}, el("tr", {}, el("th", { textContent: "change" }),
      el("th", { textContent: "row" }), el("th", { textContent: "before" }))), el("tbody", {}, ...rows)));
}
