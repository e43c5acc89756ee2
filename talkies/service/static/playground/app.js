// talkies playground: the form is built from the endpoint's input schema in /openapi.json; the
// page talks to the same queue API as the fal clients (submit, status with logs, result) and
// lists recent requests from /v1/models/requests/by-endpoint. No framework, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const POLL_MS = 400;
const HISTORY_PAGE = 12;
const state = {
  config: null, spec: null, endpoint: null, props: {}, required: [],
  values: {}, files: {}, job: null, cursor: null, entries: new Map(),
};

// ---- talking to the server -------------------------------------------------------------

function authHeaders(extra = {}) {
  const key = $("api-key").value.trim();
  return key ? { ...extra, Authorization: `Key ${key}` } : extra;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: authHeaders(options.headers || {}) });
  const text = await response.text();
  let body = text;
  try { body = JSON.parse(text); } catch (_) { /* not JSON: keep the text */ }
  if (response.status === 401) needKey();
  return { status: response.status, ok: response.ok, body };
}

function needKey() {
  $("key-box").hidden = false;
  $("key-box").classList.add("needed");
  $("api-key").focus();
}

function detailText(body) {
  if (body && Array.isArray(body.detail)) {
    return body.detail.map((d) => `${(d.loc || []).slice(1).join(".") || "input"}: ${d.msg}`).join("\n");
  }
  if (body && body.detail) return String(body.detail);
  return typeof body === "string" ? body : JSON.stringify(body);
}

const appPath = (endpoint) => endpoint.split("/").slice(0, 2).join("/");

// ---- the form, from the schema ---------------------------------------------------------

function resolve(schema) {
  let s = schema;
  while (s && s.$ref) s = state.spec.components.schemas[s.$ref.split("/").pop()];
  return s || {};
}

function fieldKind(name, prop) {
  const inner = prop.anyOf ? prop.anyOf.find((s) => s.type !== "null") : prop;
  const base = { ...resolve(inner), ...(prop.$ref ? {} : inner) };
  if (base.enum) return { kind: "enum", options: base.enum };
  if (base.type === "boolean") return { kind: "bool" };
  if (name.endsWith("_url")) return { kind: "file", accept: name.startsWith("audio") ? "audio/*" : "image/*" };
  return { kind: "text", maxLength: base.maxLength };
}

function buildForm() {
  const op = state.spec.paths[`/queue/${state.endpoint}`].post;
  const schema = resolve(op.requestBody.content["application/json"].schema);
  state.props = schema.properties;
  state.required = schema.required || [];
  state.values = {};
  state.files = {};
  const order = schema["x-fal-order-properties"] || Object.keys(schema.properties);
  const box = $("fields");
  box.replaceChildren(...order.map((name) => fieldElement(name, schema.properties[name])));
  $("endpoint-name").textContent = state.endpoint;
}

function fieldElement(name, prop) {
  const kind = fieldKind(name, prop);
  const wrap = document.createElement("div");
  wrap.className = "field";
  wrap.dataset.field = name;
  const label = document.createElement("div");
  label.className = "label";
  label.innerHTML = `<span></span>${state.required.includes(name) ? '<span class="req">required</span>' : ""}`;
  label.firstChild.textContent = (prop.title || name).replace(/ Url$/, "");
  wrap.append(label);
  const build = { file: fileField, enum: enumField, bool: boolField, text: textField }[kind.kind];
  wrap.append(build(name, prop, kind, label));
  const help = document.createElement("p");
  help.className = "help";
  help.textContent = (prop.description || "").split(" A data: URI")[0];
  wrap.append(help);
  return wrap;
}

function fileField(name, prop, kind) {
  const row = document.createElement("div");
  row.className = "file-field";
  const drop = document.createElement("label");
  drop.className = `drop ${kind.accept.startsWith("audio") ? "audio" : "image"}`;
  drop.textContent = "Drop or choose";
  const picker = document.createElement("input");
  picker.type = "file";
  picker.accept = kind.accept;
  picker.hidden = true;
  picker.name = `${name}_file`;
  drop.append(picker);
  const side = document.createElement("div");
  side.className = "file-side";
  const url = document.createElement("input");
  url.type = "url";
  url.name = name;
  url.placeholder = "…or paste a URL";
  const note = document.createElement("div");
  note.className = "file-name";
  side.append(url, note);
  row.append(drop, side);
  const show = (value, fileName) => {
    state.values[name] = value;
    state.files[name] = fileName || null;
    note.textContent = fileName ? fileName : "";
    drop.classList.toggle("has", Boolean(value));
    side.querySelector("audio")?.remove();
    if (!value) { drop.style.backgroundImage = ""; drop.textContent = "Drop or choose"; drop.append(picker); return; }
    if (kind.accept.startsWith("image")) {
      drop.textContent = "";
      drop.append(picker);
      drop.style.backgroundImage = `url("${value}")`;
    } else {
      drop.textContent = "♪ audio";
      drop.append(picker);
      const player = document.createElement("audio");
      player.controls = true;
      player.src = value;
      side.append(player);
    }
  };
  const readFile = async (file) => { url.value = ""; show(await asDataUri(file), file.name); };
  picker.addEventListener("change", () => picker.files[0] && readFile(picker.files[0]));
  url.addEventListener("input", () => show(url.value.trim(), null));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) readFile(e.dataTransfer.files[0]);
  });
  row.setValue = show;
  return row;
}

function enumField(name, prop, kind) {
  const group = document.createElement("div");
  group.className = "segmented";
  group.setAttribute("role", "radiogroup");
  for (const option of kind.options) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "radio";
    input.name = name;
    input.value = option;
    input.checked = option === prop.default;
    input.addEventListener("change", () => { state.values[name] = option; });
    label.append(input, document.createTextNode(option));
    group.append(label);
  }
  if (prop.default !== undefined) state.values[name] = prop.default;
  group.setValue = (value) => {
    group.querySelectorAll("input").forEach((i) => { i.checked = i.value === value; });
    state.values[name] = value;
  };
  return group;
}

function boolField(name, prop) {
  const label = document.createElement("label");
  label.className = "switch";
  const input = document.createElement("input");
  input.type = "checkbox";
  input.name = name;
  input.checked = Boolean(prop.default);
  state.values[name] = input.checked;
  input.addEventListener("change", () => { state.values[name] = input.checked; });
  label.append(input, document.createTextNode(input.checked ? "On" : "Off"));
  input.addEventListener("change", () => { label.lastChild.textContent = input.checked ? "On" : "Off"; });
  label.setValue = (value) => { input.checked = value; input.dispatchEvent(new Event("change")); };
  return label;
}

function textField(name, prop, kind, label) {
  const area = document.createElement("textarea");
  area.name = name;
  area.rows = 2;
  if (kind.maxLength) area.maxLength = kind.maxLength;
  if (prop.examples) area.placeholder = `e.g. ${prop.examples[0]}`;
  const count = document.createElement("span");
  count.className = "count";
  if (kind.maxLength) label.firstChild.after(count);
  const update = () => {
    state.values[name] = area.value;
    count.textContent = kind.maxLength ? ` ${area.value.length}/${kind.maxLength}` : "";
  };
  area.addEventListener("input", update);
  area.setValue = (value) => { area.value = value; update(); };
  return area;
}

function setField(name, value, fileName) {
  const control = document.querySelector(`.field[data-field="${name}"] > :nth-child(2)`);
  if (control && control.setValue) control.setValue(value, fileName);
}

function asDataUri(blob) {
  return new Promise((done, fail) => {
    const reader = new FileReader();
    reader.onload = () => done(reader.result);
    reader.onerror = () => fail(reader.error);
    reader.readAsDataURL(blob);
  });
}

async function useSample() {
  const load = async (path) => asDataUri(await (await fetch(path)).blob());
  setField("image_url", await load("/playground/samples/portrait.jpg"), "portrait.jpg");
  setField("audio_url", await load("/playground/samples/speech_short.wav"), "speech_short.wav");
  if (state.props.prompt) setField("prompt", "smiles warmly and nods");
  if (state.props.resolution) setField("resolution", "720p");
  if (state.props.turbo_mode) setField("turbo_mode", true);
}

function requestBody() {
  const body = {};
  for (const [name, value] of Object.entries(state.values)) {
    if (value === "" || value === null || value === undefined) continue;
    body[name] = value;
  }
  const missing = state.required.filter((name) => !body[name]);
  if (missing.length) {
    throw new Error(`${missing.map((n) => state.props[n].title || n).join(" and ")}: required (choose a file or paste a URL)`);
  }
  return body;
}

// ---- one request -----------------------------------------------------------------------

async function submit(event) {
  event.preventDefault();
  $("form-error").hidden = true;
  let body;
  try { body = requestBody(); } catch (e) { showFormError(e.message); return; }
  $("run").disabled = true;
  const started = Date.now();
  const sent = await api(`/queue/${state.endpoint}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!sent.ok) {
    $("run").disabled = false;
    showFormError(sent.status === 401 ? "This server needs an API key: enter it at the top right." : detailText(sent.body));
    return;
  }
  const id = sent.body.request_id;
  state.job = { id, endpoint: state.endpoint, body, files: { ...state.files }, submittedAt: started, startedAt: null };
  resetOutput();
  $("cancel").hidden = false;
  setPill("In queue", "");
  $("progress").hidden = false;
  $("logs-box").hidden = false;
  showFacts([["Request ID", id, true], ["Status", "IN_QUEUE"]]);
  showSnippet(body, state.job.files, state.endpoint);
  poll(state.job);
}

async function poll(job) {
  while (state.job === job) {
    const r = await api(`/queue/${appPath(job.endpoint)}/requests/${job.id}/status?logs=1`);
    if (!r.ok) { showFailure("Status failed", detailText(r.body)); break; }
    const s = r.body;
    showLogs(s.logs || []);
    if (s.status === "IN_QUEUE") {
      setPill(`In queue · ${s.queue_position} ahead`, "");
      setProgress(1);
    } else if (s.status === "IN_PROGRESS") {
      job.startedAt = job.startedAt || Date.now();
      setPill("Rendering", "");
      setProgress(progressOf(s.logs || []));
    } else {
      await finish(job, s);
      break;
    }
    await new Promise((done) => setTimeout(done, POLL_MS));
  }
}

async function finish(job, status) {
  $("run").disabled = false;
  $("cancel").hidden = true;
  const ended = Date.now();
  const r = await api(`/queue/${appPath(job.endpoint)}/requests/${job.id}`);
  const inference = status.metrics && status.metrics.inference_time;
  const facts = [["Request ID", job.id, true]];
  const total = (ended - job.submittedAt) / 1000;
  // The worker measures the render; the rest of the round trip is queueing and transfer.
  if (inference !== undefined) facts.push(["Queue + transfer", seconds(Math.max(0, total - inference))]);
  if (inference !== undefined) facts.push(["Render time", seconds(inference)]);
  facts.push(["Total", seconds(total)]);
  if (r.ok) {
    setProgress(100);
    setPill("Done", "ok");
    showVideo(r.body);
    facts.push(["Video length", seconds(r.body.duration)], ["Size", megabytes(r.body.video.file_size)]);
  } else {
    $("progress").hidden = true;
    setPill(status.error_type === "client_cancelled" ? "Cancelled" : "Failed", "bad");
    showFailure(status.error_type || `HTTP ${r.status}`, detailText(r.body));
  }
  showFacts(facts);
  showJson(job.body, r.body);
  loadHistory(true);
}

function showJson(input, output) {
  const short = (value) => (typeof value === "string" && value.startsWith("data:") ? `${value.slice(0, 40)}… (${value.length} chars)` : value);
  const shownInput = Object.fromEntries(Object.entries(input || {}).map(([k, v]) => [k, short(v)]));
  $("json").textContent = `// input\n${JSON.stringify(shownInput, null, 2)}\n\n// output\n${JSON.stringify(output, null, 2)}`;
  $("json-box").hidden = false;
}

async function cancel() {
  if (!state.job) return;
  await api(`/queue/${appPath(state.job.endpoint)}/requests/${state.job.id}/cancel`, { method: "PUT" });
}

function progressOf(logs) {
  let pct = 4;
  for (const line of logs) {
    const m = /frame (\d+)\/(\d+)/.exec(line.message);
    if (m) pct = 12 + 86 * (Number(m[1]) / Number(m[2]));
    else if (/^planning/.test(line.message)) pct = Math.max(pct, 10);
    else if (/^(analysing|speech)/.test(line.message)) pct = Math.max(pct, 7);
  }
  return pct;
}

// ---- showing results -------------------------------------------------------------------

function resetOutput() {
  $("empty").hidden = true;
  $("player").hidden = true;
  $("failure").hidden = true;
  $("facts").hidden = true;
  $("json-box").hidden = true;
  $("logs").replaceChildren();
  $("video").removeAttribute("src");
  setProgress(1);
}

function setPill(text, kind) {
  const pill = $("status-pill");
  pill.hidden = false;
  pill.textContent = text;
  pill.className = `pill ${kind}`;
}

function setProgress(pct) { $("bar").style.width = `${Math.max(1, Math.min(100, pct))}%`; }

function showVideo(output) {
  const video = $("video");
  video.src = output.video.url;
  $("player").hidden = false;
  $("download").href = output.video.url;
  $("download").setAttribute("download", output.video.file_name);
  $("video-meta").textContent = `${output.video.file_name} · ${megabytes(output.video.file_size)}`;
  video.play().catch(() => { /* the user presses play */ });
}

function showFailure(title, text) {
  const box = $("failure");
  box.hidden = false;
  box.innerHTML = "<strong></strong><span></span>";
  box.firstChild.textContent = title;
  box.lastChild.textContent = text;
}

function showFormError(text) {
  $("form-error").hidden = false;
  $("form-error").textContent = text;
}

function showFacts(facts) {
  const box = $("facts");
  box.hidden = false;
  box.replaceChildren(...facts.map(([name, value, mono]) => {
    const div = document.createElement("div");
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = name;
    dd.textContent = value;
    dd.title = value;
    if (mono) dd.className = "mono";
    div.append(dt, dd);
    return div;
  }));
}

function showLogs(lines) {
  const list = $("logs");
  if (list.children.length === lines.length) return;
  list.replaceChildren(...lines.map((line) => {
    const li = document.createElement("li");
    li.className = line.level;
    const t = document.createElement("span");
    t.className = "t";
    t.textContent = (line.timestamp || "").slice(11, 19);
    li.append(t, document.createTextNode(line.message));
    return li;
  }));
  list.scrollTop = list.scrollHeight;
}

const seconds = (s) => (s === undefined || s === null ? "–" : `${Number(s).toFixed(s < 10 ? 1 : 0)} s`);
const megabytes = (n) => `${(n / 1e6).toFixed(n < 1e6 ? 2 : 1)} MB`;

// ---- code for this request -------------------------------------------------------------

let snippetLang = "python";
let snippetArgs = null;

function showSnippet(body, files, endpoint) {
  snippetArgs = { body, files, endpoint };
  $("code-box").hidden = false;
  renderSnippet();
}

function renderSnippet() {
  if (!snippetArgs) return;
  const make = { python: pythonSnippet, js: jsSnippet, curl: curlSnippet }[snippetLang];
  $("snippet").textContent = make(snippetArgs.body, snippetArgs.files, snippetArgs.endpoint);
  document.querySelectorAll(".tabs [role=tab]").forEach((tab) => {
    tab.setAttribute("aria-selected", String(tab.dataset.lang === snippetLang));
  });
}

const mimeOf = (uri) => (/^data:([^;,]+)/.exec(uri) || [])[1] || "application/octet-stream";

function pythonSnippet(body, files, endpoint) {
  const c = state.config;
  const args = Object.entries(body).map(([k, v]) => {
    const value = files[k] ? `fal_client.encode_file("${files[k]}")` : pyValue(v);
    return `        "${k}": ${value},`;
  });
  const head = [
    "# pip install fal-client==1.0.3",
    `# run with: ${c.python_env.join(" ")} python talk.py`,
  ];
  if (!c.https) {
    head.push(
      "# fal-client speaks only https: restart the server with `talkies serve --self-signed-tls`, or",
      "# point the client's module constants at this http server (not a public API):",
      "#   import fal_client.client as C",
      `#   C.RUN_URL_FORMAT, C.QUEUE_URL_FORMAT = "${c.base_url}/", "${c.base_url}/queue/"`,
      `#   C.REST_URL = C.CDN_URL = "${c.base_url}"`,
    );
  }
  return [
    ...head,
    "import fal_client",
    "",
    "result = fal_client.subscribe(",
    `    "${endpoint}",`,
    "    arguments={",
    ...args,
    "    },",
    "    with_logs=True,",
    "    on_queue_update=lambda update: [print(log[\"message\"]) for log in getattr(update, \"logs\", None) or []],",
    ")",
    'print(result["video"]["url"], result["duration"])',
  ].join("\n");
}

function pyValue(v) {
  if (v === true) return "True";
  if (v === false) return "False";
  return JSON.stringify(v);
}

function jsSnippet(body, files, endpoint) {
  const c = state.config;
  const input = Object.entries(body).map(([k, v]) => {
    const value = files[k] ? `await dataUri("${files[k]}", "${mimeOf(v)}")` : JSON.stringify(v);
    return `    ${k}: ${value},`;
  });
  const lines = ["// npm install @fal-ai/client   (Node 20+; save as talk.mjs)"];
  if (c.https) lines.push("// with a --self-signed-tls server: NODE_EXTRA_CA_CERTS=<data dir>/tls/ca.pem node talk.mjs");
  return [
    ...lines,
    'import { fal } from "@fal-ai/client";',
    'import { readFile } from "node:fs/promises";',
    "",
    `const BASE = "${c.base_url}";`,
    "// the client's hosts are fixed: send its requests here instead",
    "const rewrite = (url) => url",
    "  .replace(/^https:\\/\\/queue\\.fal\\.run\\//, `${BASE}/queue/`)",
    "  .replace(/^https:\\/\\/fal\\.run\\//, `${BASE}/`)",
    "  .replace(/^https:\\/\\/rest\\.fal\\.ai\\//, `${BASE}/`);",
    "fal.config({",
    `  credentials: process.env.FAL_KEY ?? "${c.auth_required ? "<your key>" : "local"}",`,
    "  requestMiddleware: async (request) => ({ ...request, url: rewrite(request.url) }),",
    "});",
    "const dataUri = async (path, type) => `data:${type};base64,${(await readFile(path)).toString(\"base64\")}`;",
    "",
    `const { data, requestId } = await fal.subscribe("${endpoint}", {`,
    "  input: {",
    ...input,
    "  },",
    "  logs: true,",
    "  onQueueUpdate: (update) => update.logs?.forEach((log) => console.log(log.message)),",
    "});",
    "console.log(requestId, data.video.url, data.duration);",
  ].join("\n");
}

function curlSnippet(body, files, endpoint) {
  const c = state.config;
  const cert = c.python_env.find((line) => line.startsWith("SSL_CERT_FILE="));
  const opt = cert ? ` --cacert ${cert.split("=")[1]}` : "";
  const key = c.auth_required ? ' -H "Authorization: Key $FAL_KEY"' : "";
  const app = appPath(endpoint);
  // The body goes through a file: a command line cannot hold a photo in base64.
  const quoted = (t) => `'${t.replace(/'/g, "'\\''")}'`;
  const pieces = [];
  let text = "{";
  Object.entries(body).forEach(([k, v], i) => {
    text += `${i ? ", " : ""}${JSON.stringify(k)}: `;
    if (files[k]) {
      pieces.push(`printf '%s' ${quoted(`${text}"data:${mimeOf(v)};base64,`)}; base64 -w0 ${files[k]}`);
      text = '"';
    } else {
      text += JSON.stringify(v);
    }
  });
  pieces.push(`printf '%s' ${quoted(`${text}}`)}`);
  return [
    `BASE=${c.base_url}`,
    `{ ${pieces.join("\n  ")}; } > body.json`,
    `ID=$(curl -s${opt} -X POST "$BASE/queue/${endpoint}"${key} \\`,
    "  -H 'Content-Type: application/json' -d @body.json \\",
    "  | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"request_id\"])')",
    `curl -s${opt} "$BASE/queue/${app}/requests/$ID/status?logs=1"${key}   # until "COMPLETED"`,
    `curl -s${opt} "$BASE/queue/${app}/requests/$ID"${key}                 # the video URL`,
  ].join("\n");
}

// ---- history ---------------------------------------------------------------------------

async function loadHistory(fresh) {
  if (fresh) state.cursor = null;
  const query = new URLSearchParams({ endpoint_id: state.endpoint, limit: String(HISTORY_PAGE) });
  if (state.cursor) query.set("cursor", state.cursor);
  const r = await api(`/v1/models/requests/by-endpoint?${query}`);
  const note = $("history-note");
  if (r.status === 401) {
    note.hidden = false;
    note.textContent = "Enter this server's API key (top right) to see its requests.";
    $("history").replaceChildren();
    return;
  }
  if (!r.ok) { note.hidden = false; note.textContent = detailText(r.body); return; }
  const items = r.body.items.map(historyItem);
  if (fresh) $("history").replaceChildren(...items); else $("history").append(...items);
  note.hidden = $("history").children.length > 0;
  note.textContent = "No requests yet: your first one appears here.";
  state.cursor = r.body.next_cursor;
  $("more").hidden = !r.body.has_more;
}

function historyItem(entry) {
  state.entries.set(entry.request_id, entry);
  const li = document.createElement("li");
  li.dataset.requestId = entry.request_id;
  if (state.job && state.job.id === entry.request_id) li.classList.add("current");
  const image = entry.json_input.image_url || "";
  const thumb = document.createElement(/^https?:/.test(image) ? "img" : "div");
  if (thumb.tagName === "IMG") { thumb.src = image; thumb.alt = ""; thumb.loading = "lazy"; } else thumb.className = "noimg";
  const meta = document.createElement("div");
  meta.className = "meta";
  const [label, kind] = entryStatus(entry);
  meta.innerHTML = '<div class="line1"><span class="pill"></span><span class="id"></span></div><div class="line2"></div>';
  meta.querySelector(".pill").textContent = label;
  meta.querySelector(".pill").className = `pill ${kind}`;
  meta.querySelector(".id").textContent = entry.request_id.slice(0, 8);
  const details = [ago(entry.created_at)];
  if (entry.duration !== null) details.push(seconds(entry.duration));
  if (entry.json_input.resolution) details.push(entry.json_input.resolution);
  if (entry.error_type) details.push(entry.error_type);
  meta.querySelector(".line2").textContent = details.join(" · ");
  li.append(thumb, meta);
  li.addEventListener("click", () => showEntry(entry));
  return li;
}

function entryStatus(entry) {
  if (entry.status !== "COMPLETED") return [entry.status === "IN_QUEUE" ? "In queue" : "Rendering", ""];
  if (entry.status_code === 200) return ["Done", "ok"];
  return [entry.error_type === "client_cancelled" ? "Cancelled" : "Failed", "bad"];
}

function showEntry(entry) {
  state.job = null;
  resetOutput();
  $("progress").hidden = true;
  $("cancel").hidden = true;
  $("run").disabled = false;
  const [label, kind] = entryStatus(entry);
  setPill(label, kind);
  document.querySelectorAll(".history-list li").forEach((li) => {
    li.classList.toggle("current", li.dataset.requestId === entry.request_id);
  });
  const facts = [["Request ID", entry.request_id, true], ["Submitted", new Date(entry.created_at).toLocaleString()]];
  if (entry.duration !== null) facts.push(["Render time", seconds(entry.duration)]);
  if (entry.status_code === 200 && entry.json_output) {
    showVideo(entry.json_output);
    facts.push(["Video length", seconds(entry.json_output.duration)]);
  } else if (entry.status === "COMPLETED") {
    showFailure(entry.error_type || `HTTP ${entry.status_code}`, entry.error || detailText(entry.json_output));
  }
  showFacts(facts);
  showJson(entry.json_input, entry.json_output);
  $("logs-box").hidden = true;
  showSnippet(entry.json_input, {}, entry.endpoint_id);
  $("output").scrollIntoView({ behavior: "smooth", block: "start" });
}

function ago(iso) {
  const s = (Date.now() - new Date(iso).getTime()) / 1000;
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

// ---- start -----------------------------------------------------------------------------

async function start() {
  const [config, spec] = await Promise.all([
    fetch("/playground/config").then((r) => r.json()),
    fetch("/openapi.json").then((r) => r.json()),
  ]);
  state.config = config;
  state.spec = spec;
  $("version").textContent = config.version;
  const select = $("endpoint");
  select.replaceChildren(...config.endpoints.map((id) => new Option(id, id, false, id === config.default_endpoint)));
  state.endpoint = config.default_endpoint;
  if (config.auth_required) {
    $("key-box").hidden = false;
    $("api-key").value = localStorage.getItem("talkies-api-key") || "";
    if (!$("api-key").value) $("key-box").classList.add("needed");
  }
  buildForm();
  loadHistory(true);
  select.addEventListener("change", () => { state.endpoint = select.value; buildForm(); loadHistory(true); });
  $("api-key").addEventListener("change", () => {
    localStorage.setItem("talkies-api-key", $("api-key").value.trim());
    $("key-box").classList.toggle("needed", !$("api-key").value.trim());
    loadHistory(true);
  });
  $("form").addEventListener("submit", submit);
  $("sample").addEventListener("click", useSample);
  $("cancel").addEventListener("click", cancel);
  $("refresh").addEventListener("click", () => loadHistory(true));
  $("more").addEventListener("click", () => loadHistory(false));
  document.querySelectorAll(".tabs [role=tab]").forEach((tab) => {
    tab.addEventListener("click", () => { snippetLang = tab.dataset.lang; renderSnippet(); });
  });
  $("copy").addEventListener("click", () => navigator.clipboard?.writeText($("snippet").textContent));
}

start().catch((e) => showFormError(`The page could not start: ${e.message}`));
