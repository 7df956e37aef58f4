// deeplayers playground: the page. Plain JavaScript, no libraries (works offline).
// The server (deeplayers.playground.server) owns the state; this page sends settings and commands
// over a WebSocket and draws the frames it receives. Heatmaps arrive as base64 uint8 grids where
// 0 = -1 (orange), 128 = 0 (white), 255 = +1 (blue).
"use strict";

(function () {
  const LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
  const L2_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
  const SPEEDS = [1, 2, 5, 10, 20];
  const RUN_COLOURS = ["#0877bd", "#e4572e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];
  const HASH_KEYS = {  // URL key -> setting
    dataset: "dataset", noise: "noise", ratio: "train_ratio", seed: "seed", features: "features",
    layers: "layers", act: "activations", output: "output", lr: "learning_rate", l2: "l2",
    batch: "batch_size", opt: "optimizer", speed: "epochs_per_update", discretize: "discretize",
  };

  const $ = (id) => document.getElementById(id);
  const state = {
    ws: null, session: null, hello: null, cfg: null, desc: null, points: null, frame: null,
    dirty: false, curve: [], runs: [], hover: null, showTest: false, fromHash: null,
  };
  // what tests (and curious users) can read: window.playground.framesRendered etc.
  const api = window.playground = { framesRendered: 0, framesReceived: 0, errors: [], state };

  // -- colours ----------------------------------------------------------------------------
  const PALETTE = new Uint8ClampedArray(256 * 4);
  (function () {
    const orange = [245, 147, 34], white = [255, 255, 255], blue = [8, 119, 189];
    for (let i = 0; i < 256; i++) {
      const t = i / 127.5 - 1, a = t < 0 ? orange : blue, k = Math.abs(t);
      for (let c = 0; c < 3; c++) PALETTE[i * 4 + c] = Math.round(white[c] + (a[c] - white[c]) * k);
      PALETTE[i * 4 + 3] = 255;
    }
  })();
  function colourOf(v) {  // v in [-1, 1] -> css colour
    const i = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5))) * 4;
    return `rgb(${PALETTE[i]},${PALETTE[i + 1]},${PALETTE[i + 2]})`;
  }
  function decode(b64) {
    const s = atob(b64), a = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) a[i] = s.charCodeAt(i);
    return a;
  }
  // draw an n x n byte grid (offset into bytes) onto a canvas, scaled
  const scratch = document.createElement("canvas");
  // the large output picture uses lighter colours, so the data points on it stand out (as in TF Playground)
  const LIGHT = PALETTE.map((c, i) => (i % 4 === 3 ? 255 : Math.round(255 - (255 - c) * 0.65)));
  function paint(canvas, bytes, offset, n, discretize, light, invert) {
    scratch.width = n; scratch.height = n;
    const sctx = scratch.getContext("2d"), img = sctx.createImageData(n, n), d = img.data, pal = light ? LIGHT : PALETTE;
    for (let i = 0; i < n * n; i++) {
      let v = invert ? 255 - bytes[offset + i] : bytes[offset + i];
      if (discretize) v = v >= 128 ? 255 : 0;
      d.set(pal.subarray(v * 4, v * 4 + 4), i * 4);
    }
    sctx.putImageData(img, 0, 0);
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
  }

  // -- the connection ---------------------------------------------------------------------
  function send(msg) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(msg));
  }
  function setConfig(changes) { send({ type: "config", config: changes }); }

  function connect() {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    state.ws = ws;
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { showError("the server sent something that is not JSON"); return; }
      const handler = HANDLERS[msg.type];
      if (handler) handler(msg);
    };
    ws.onclose = () => {
      showError("the connection to the playground server closed: is `deeplayers playground` still running? Reload the page to reconnect.");
      setPlaying(false);
    };
  }

  const HANDLERS = {
    hello(msg) {
      state.hello = msg; state.session = msg.session;
      for (const [id, what] of [["export-model", "model"], ["export-onnx", "onnx"], ["export-data", "data"]]) {
        $(id).href = `/export/${what}?session=${encodeURIComponent(msg.session)}`;
      }
      buildDatasetButtons(msg.datasets);
    },
    config(msg) {
      const first = state.cfg === null;
      const structural = first || !state.desc || JSON.stringify(state.desc.shapes.layer_dims) !== JSON.stringify(msg.shapes.layer_dims) ||
        JSON.stringify(state.cfg.features) !== JSON.stringify(msg.config.features) ||
        JSON.stringify(state.cfg.activations) !== JSON.stringify(msg.config.activations);
      state.cfg = msg.config; state.desc = msg;
      if (msg.epoch === 0) state.curve = [];
      renderControls();
      if (structural) { state.frame = null; buildNetwork(); }  // the next frame matches the new network
      renderShapes();
      if (first && state.fromHash && Object.keys(state.fromHash).length) {
        setConfig(completeSetting(state.fromHash));  // the shared setting; the hash is rewritten when the server accepts it
      } else {
        writeHash();
      }
    },
    points(msg) { state.points = msg; state.dirty = true; },
    frame(msg) {
      api.framesReceived++;
      state.frame = msg; state.dirty = true;
      const last = state.curve[state.curve.length - 1];
      if (msg.epoch === 0) state.curve = [];
      if (!last || last[0] !== msg.epoch || msg.epoch === 0) state.curve.push([msg.epoch, msg.train_loss, msg.test_loss]);
      if (state.curve.length > 4000) state.curve = state.curve.filter((_, i) => i % 2 === 0);
    },
    status(msg) { setPlaying(msg.playing); },
    error(msg) { showError(msg.message); },
  };

  function showError(text) {
    api.errors.push(text);
    $("error-text").textContent = text;
    $("error").hidden = false;
  }
  function setPlaying(on) {
    state.playing = on;
    $("play-shape").setAttribute("d", on ? "M6 5h4v14H6zM14 5h4v14h-4z" : "M8 5v14l11-7z");
    $("play").classList.toggle("playing", on);
  }

  // -- the URL holds the whole setting ------------------------------------------------------
  function writeHash() {
    const c = state.cfg, parts = [];
    for (const [key, name] of Object.entries(HASH_KEYS)) {
      let v = c[name];
      if (Array.isArray(v)) v = v.join(",");
      if (typeof v === "boolean") v = v ? 1 : 0;
      parts.push(`${key}=${encodeURIComponent(v)}`);
    }
    parts.push(`test=${state.showTest ? 1 : 0}`);
    history.replaceState(null, "", `#${parts.join("&")}`);
  }
  // An address that sets the hidden layers but not their g[l] (#layers=8,8,8) keeps the page's
  // g[l] for the layers it has and repeats the last one for the new ones.
  function completeSetting(changes) {
    if (!Array.isArray(changes.layers) || changes.activations !== undefined) return changes;
    const acts = state.cfg.activations;
    const fill = acts[acts.length - 1] || "tanh";
    return { ...changes, activations: changes.layers.map((_, i) => acts[i] || fill) };
  }
  function readHash() {
    const h = location.hash.replace(/^#/, "");
    if (!h) return null;
    const out = {};
    for (const part of h.split("&")) {
      const [k, raw] = part.split("=");
      const v = decodeURIComponent(raw || "");
      if (k === "test") { state.showTest = v === "1"; $("show-test").checked = state.showTest; continue; }
      const name = HASH_KEYS[k];
      if (!name) continue;
      if (["features", "activations"].includes(name)) out[name] = v ? v.split(",") : [];
      else if (name === "layers") out[name] = v ? v.split(",").map(Number) : [];
      else if (name === "discretize") out[name] = v === "1" || v === "true";
      else if (["dataset", "output", "optimizer"].includes(name)) out[name] = v;
      else out[name] = Number(v);
    }
    return out;
  }

  // -- controls -----------------------------------------------------------------------------
  function fillSelect(sel, values, fmt) {
    sel.innerHTML = "";
    for (const v of values) {
      const o = document.createElement("option");
      o.value = String(v); o.textContent = fmt ? fmt(v) : String(v);
      sel.appendChild(o);
    }
  }
  function selectValue(sel, v) {
    if (![...sel.options].some((o) => Number(o.value) === Number(v) || o.value === String(v))) {
      const o = document.createElement("option"); o.value = String(v); o.textContent = String(v); sel.appendChild(o);
    }
    for (const o of sel.options) if (o.value === String(v) || (o.value !== "" && Number(o.value) === Number(v))) sel.value = o.value;
  }

  function renderControls() {
    const c = state.cfg, d = state.desc;
    selectValue($("learning-rate"), c.learning_rate);
    selectValue($("l2"), c.l2);
    selectValue($("speed"), c.epochs_per_update);
    $("optimizer").value = c.optimizer;
    $("output").value = c.output;
    $("output").disabled = d.task === "regression";
    $("output-note").textContent = d.task === "regression" ? "regression: linear output, mean squared error" : `loss: ${d.loss}`;
    for (const [id, v] of [["train-ratio", c.train_ratio], ["noise", c.noise], ["batch-size", c.batch_size]]) {
      $(id).value = v; $(`${id}-value`).textContent = v;
    }
    $("discretize").checked = c.discretize;
    for (const b of document.querySelectorAll(".datasets button")) b.classList.toggle("selected", b.dataset.name === c.dataset);
    $("csv-name").textContent = c.dataset === "csv" ? `using ${d.csv_name} (${d.task})` : "";
    $("regenerate").disabled = c.dataset === "csv";
    const n = c.layers.length;
    $("layers-title").textContent = `${n} hidden layer${n === 1 ? "" : "s"}`;
    $("add-layer").disabled = n >= state.hello.limits.hidden_layers[1];
    $("remove-layer").disabled = n <= 0;
  }

  function wireControls() {
    fillSelect($("learning-rate"), LEARNING_RATES);
    fillSelect($("l2"), L2_RATES, (v) => (v === 0 ? "0 (none)" : String(v)));
    fillSelect($("speed"), SPEEDS);
    $("learning-rate").onchange = (e) => setConfig({ learning_rate: Number(e.target.value) });
    $("l2").onchange = (e) => setConfig({ l2: Number(e.target.value) });
    $("speed").onchange = (e) => setConfig({ epochs_per_update: Number(e.target.value) });
    $("optimizer").onchange = (e) => setConfig({ optimizer: e.target.value });
    $("output").onchange = (e) => setConfig({ output: e.target.value });
    $("train-ratio").onchange = (e) => setConfig({ train_ratio: Number(e.target.value) });
    $("noise").onchange = (e) => setConfig({ noise: Number(e.target.value) });
    $("batch-size").onchange = (e) => setConfig({ batch_size: Number(e.target.value) });
    for (const id of ["train-ratio", "noise", "batch-size"]) $(id).oninput = (e) => { $(`${id}-value`).textContent = e.target.value; };
    $("discretize").onchange = (e) => setConfig({ discretize: e.target.checked });
    $("show-test").onchange = (e) => { state.showTest = e.target.checked; state.dirty = true; if (state.cfg) writeHash(); };
    $("play").onclick = () => send({ type: state.playing ? "pause" : "play" });
    $("step").onclick = () => send({ type: "step" });
    $("reset").onclick = () => send({ type: "reset" });
    $("regenerate").onclick = () => send({ type: "regenerate" });
    $("add-layer").onclick = () => {
      const c = state.cfg;
      setConfig({ layers: [...c.layers, 2], activations: [...c.activations, c.activations[c.activations.length - 1] || "tanh"] });
    };
    $("remove-layer").onclick = () => {
      const c = state.cfg;
      setConfig({ layers: c.layers.slice(0, -1), activations: c.activations.slice(0, -1) });
    };
    $("error-close").onclick = () => { $("error").hidden = true; };
    $("upload-csv").onchange = (e) => {
      const file = e.target.files[0];
      if (!file) return;
      const limit = state.hello.limits.upload_bytes;
      if (file.size > limit) {
        showError(`${file.name}: the file is larger than the limit of ${Math.round(limit / 1000)} kB; upload at most that (a sample of the rows)`);
        e.target.value = "";
        return;
      }
      const reader = new FileReader();
      reader.onload = () => send({ type: "upload_csv", name: file.name, text: String(reader.result) });
      reader.onerror = () => showError(`${file.name}: the file could not be read`);
      reader.readAsText(file);
      e.target.value = "";
    };
    $("save-run").onclick = saveRun;
    $("clear-runs").onclick = () => { state.runs = []; renderCompare(); };
    $("compare-what").onchange = renderCompare;
    const sc = $("scale"), ctx = sc.getContext("2d");
    for (let x = 0; x < sc.width; x++) { ctx.fillStyle = colourOf((x / (sc.width - 1)) * 2 - 1); ctx.fillRect(x, 0, 1, sc.height); }
  }

  // -- data set buttons with little pictures ---------------------------------------------------
  const PICTURES = {  // f(x, y) in [-1, 1] for x, y in [-1, 1] (y up)
    circle: (x, y) => (Math.hypot(x, y) < 0.5 ? 1 : -1),
    xor: (x, y) => (x * y > 0 ? 1 : -1),
    gauss: (x, y) => {
      const a = Math.exp(-((x - 0.35) ** 2 + (y - 0.35) ** 2) / 0.08), b = Math.exp(-((x + 0.35) ** 2 + (y + 0.35) ** 2) / 0.08);
      return a > 0.3 ? 1 : b > 0.3 ? -1 : 0;
    },
    spiral: (x, y) => {
      const r = Math.hypot(x, y), th = Math.atan2(x, y);
      return r < 0.05 ? 0 : Math.sin(th - r * 1.75 * 2 * Math.PI * 1.0) > 0 ? 1 : -1;
    },
    moons: (x, y) => {
      const up = Math.abs(Math.hypot(x + 0.25, y + 0.12) - 0.5) < 0.13 && y > -0.12;
      const down = Math.abs(Math.hypot(x - 0.25, y - 0.12) - 0.5) < 0.13 && y < 0.12;
      return up ? 1 : down ? -1 : 0;
    },
    "reg-plane": (x, y) => (x + y) / 2,
    "reg-gauss": (x, y) => {
      let v = 0;
      for (const [cx, cy, s] of [[-0.66, 0.42, 1], [0, 0.42, -1], [0.66, 0.42, 1], [-0.66, -0.42, -1], [0, -0.42, 1], [0.66, -0.42, -1]]) {
        v += s * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 0.05);
      }
      return Math.max(-1, Math.min(1, v));
    },
  };
  function buildDatasetButtons(names) {
    const box = $("datasets");
    box.innerHTML = "";
    for (const name of names) {
      const b = document.createElement("button");
      b.dataset.name = name; b.dataset.testid = `dataset-${name}`; b.setAttribute("data-testid", `dataset-${name}`);
      b.title = name;
      const cv = document.createElement("canvas"); cv.width = 40; cv.height = 40;
      const ctx = cv.getContext("2d"), img = ctx.createImageData(40, 40);
      for (let i = 0; i < 40; i++) for (let j = 0; j < 40; j++) {
        const v = PICTURES[name](j / 19.5 - 1, 1 - i / 19.5), k = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
        img.data.set(PALETTE.subarray(k * 4, k * 4 + 4), (i * 40 + j) * 4);
      }
      ctx.putImageData(img, 0, 0);
      const label = document.createElement("span"); label.textContent = name;
      b.append(cv, label);
      b.onclick = () => setConfig({ dataset: name });
      box.appendChild(b);
    }
  }

  // -- the network diagram ---------------------------------------------------------------------
  // nodes[l][j] = {el, canvas, bias}: l = 0 for the features (all seven, on or off), l = 1..L
  let nodes = [];
  function tile(cls, title) {
    const el = document.createElement("div"); el.className = `node ${cls}`; el.title = title;
    const canvas = document.createElement("canvas"); canvas.width = 42; canvas.height = 42;
    el.appendChild(canvas);
    return { el, canvas };
  }
  function buildNetwork() {
    const c = state.cfg, h = state.hello, cols = $("net-cols");
    cols.innerHTML = "";
    nodes = [];
    const L = c.layers.length + 1;
    // layer 0: every feature, the chosen ones lit
    const fcol = document.createElement("div"); fcol.className = "layer";
    const fhead = document.createElement("div"); fhead.className = "layer-head";
    fhead.innerHTML = `<div class="title">A[0] = X</div><div>n[0] = ${c.features.length}</div><div class="small">click to choose</div>`;
    fcol.appendChild(fhead);
    const feats = [];
    for (const f of h.features) {
      const on = c.features.includes(f);
      const t = tile(`feature${on ? "" : " off"}`, `${h.feature_labels[f]}: click to ${on ? "remove" : "add"} this input feature`);
      t.el.setAttribute("data-testid", `feature-${f}`);
      const tag = document.createElement("span"); tag.className = "tag"; tag.textContent = h.feature_labels[f]; t.el.appendChild(tag);
      t.el.onclick = () => {
        const now = state.cfg.features;
        setConfig({ features: now.includes(f) ? now.filter((x) => x !== f) : [...now, f] });
      };
      t.name = f; t.on = on; t.index = on ? c.features.indexOf(f) : -1;
      feats.push(t); fcol.appendChild(t.el);
    }
    nodes.push(feats);
    cols.appendChild(fcol);
    for (let l = 1; l <= L; l++) {
      const n = l < L ? c.layers[l - 1] : (state.desc.output === "softmax" ? 2 : 1);
      const col = document.createElement("div"); col.className = "layer";
      const head = document.createElement("div"); head.className = "layer-head";
      if (l < L) {
        head.innerHTML = `<div class="title">layer ${l}</div>`;
        const units = document.createElement("div"); units.className = "units";
        const plus = document.createElement("button"); plus.className = "round tiny"; plus.textContent = "+";
        plus.setAttribute("data-testid", `add-unit-${l}`); plus.title = `add a unit to layer ${l}`;
        const minus = document.createElement("button"); minus.className = "round tiny"; minus.innerHTML = "&minus;";
        minus.setAttribute("data-testid", `remove-unit-${l}`); minus.title = `remove a unit from layer ${l}`;
        plus.disabled = n >= h.limits.units[1]; minus.disabled = n <= h.limits.units[0];
        plus.onclick = () => { const ls = [...state.cfg.layers]; ls[l - 1] += 1; setConfig({ layers: ls }); };
        minus.onclick = () => { const ls = [...state.cfg.layers]; ls[l - 1] -= 1; setConfig({ layers: ls }); };
        units.append(plus, minus);
        head.appendChild(units);
        const nl = document.createElement("div"); nl.textContent = `n[${l}] = ${n}`; head.appendChild(nl);
        const sel = document.createElement("select"); sel.setAttribute("data-testid", `activation-${l}`); sel.title = `g[${l}], the activation of layer ${l}`;
        fillSelect(sel, h.activations);
        const gl = document.createElement("span"); gl.textContent = `g[${l}] `; head.appendChild(gl);
        sel.value = c.activations[l - 1];
        sel.onchange = (e) => { const as = [...state.cfg.activations]; as[l - 1] = e.target.value; setConfig({ activations: as }); };
        head.appendChild(sel);
      } else {
        head.innerHTML = `<div class="title">layer ${L} (output)</div><div>n[${L}] = ${n}</div><div>g[${L}] = ${state.desc.output}</div>`;
      }
      col.appendChild(head);
      const layer = [];
      for (let j = 1; j <= n; j++) {
        const t = tile("unit", `unit ${j} of layer ${l}: A[${l}] row ${j}`);
        t.el.setAttribute("data-testid", `neuron-${l}-${j}`);
        const bias = document.createElement("div"); bias.className = "bias"; bias.title = `b[${l}] row ${j}`;
        t.el.appendChild(bias); t.bias = bias;
        t.el.onmouseenter = () => { state.hover = { l, j }; t.el.classList.add("hover"); state.dirty = true; };
        t.el.onmouseleave = () => { state.hover = null; t.el.classList.remove("hover"); state.dirty = true; };
        layer.push(t); col.appendChild(t.el);
      }
      nodes.push(layer);
      cols.appendChild(col);
    }
    buildLinks();
    state.dirty = true;
  }

  let links = [];  // {path, l, j, k}: W[l][j][k] from unit k of layer l-1 to unit j of layer l
  function buildLinks() {
    const svg = $("links"), box = $("net").getBoundingClientRect();
    svg.innerHTML = "";
    links = [];
    const centre = (el, side) => {
      const r = el.getBoundingClientRect();
      return [side === "out" ? r.right - box.left : r.left - box.left, r.top + r.height / 2 - box.top];
    };
    for (let l = 1; l < nodes.length; l++) {
      const from = l === 1 ? nodes[0].filter((t) => t.on).sort((a, b) => a.index - b.index) : nodes[l - 1];
      from.forEach((src, k) => {
        nodes[l].forEach((dst, j) => {
          const [x1, y1] = centre(src.el, "out"), [x2, y2] = centre(dst.el, "in"), mx = (x1 + x2) / 2;
          const p = document.createElementNS("http://www.w3.org/2000/svg", "path");
          p.setAttribute("d", `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`);
          p.setAttribute("fill", "none");
          svg.appendChild(p);
          links.push({ path: p, l, j, k });
        });
      });
    }
    const h = $("net-cols").getBoundingClientRect().height;
    $("net").style.minHeight = `${Math.max(420, h + 10)}px`;
  }

  // -- drawing a frame ---------------------------------------------------------------------------
  function render() {
    requestAnimationFrame(render);
    if (!state.dirty || !state.frame || !state.cfg) return;
    state.dirty = false;
    const f = state.frame, hm = f.heatmaps, ng = hm.neuron_grid, c = state.cfg;
    if (f.weights.length !== nodes.length - 1 || hm.layers.length !== nodes.length - 2) return;  // a frame of the previous network
    $("epoch").textContent = String(f.epoch);
    $("train-loss").textContent = fmt(f.train_loss);
    $("test-loss").textContent = fmt(f.test_loss);
    $("test-accuracy").textContent = f.test_accuracy == null ? "n/a (regression)" : `${(100 * f.test_accuracy).toFixed(1)}%`;
    // features
    const inBytes = decode(hm.inputs.data);
    for (const t of nodes[0]) {
      if (t.on) paint(t.canvas, inBytes, t.index * ng * ng, ng, false);
      else { const ctx = t.canvas.getContext("2d"); ctx.fillStyle = "#f4f4f4"; ctx.fillRect(0, 0, 42, 42); }
    }
    // hidden units
    const layerBytes = hm.layers.map((x) => decode(x.data));
    for (let l = 1; l < nodes.length - 1; l++) {
      nodes[l].forEach((t, j) => { if (layerBytes[l - 1]) paint(t.canvas, layerBytes[l - 1], j * ng * ng, ng, false); });
    }
    const outBytes = decode(hm.output);
    const last = nodes[nodes.length - 1];
    // softmax: unit 1 is P(orange) = 1 - P(blue), unit 2 is P(blue); sigmoid and linear have one unit
    last.forEach((t, j) => paint(t.canvas, outBytes, 0, hm.grid, c.discretize, false, last.length === 2 && j === 0));
    // biases and links
    f.weights.forEach((w, i) => {
      const l = i + 1;
      (nodes[l] || []).forEach((t, j) => { t.bias.style.background = colourOf(Math.tanh(w.b[j])); t.bias.title = `b[${l}][${j + 1}] = ${w.b[j]}`; });
    });
    let maxW = 0;
    for (const w of f.weights) for (const v of w.W) maxW = Math.max(maxW, Math.abs(v));
    for (const link of links) {
      const w = f.weights[link.l - 1], nPrev = w.W.length / nodes[link.l].length, v = w.W[link.j * nPrev + link.k];
      if (v === undefined) continue;
      const a = Math.abs(v);
      link.path.setAttribute("stroke", v >= 0 ? "#0877bd" : "#f59322");
      link.path.setAttribute("stroke-width", String(Math.min(7, 0.4 + 6 * a / Math.max(1, maxW))));
      link.path.setAttribute("stroke-opacity", String(Math.min(1, 0.25 + a)));
    }
    drawOutput(outBytes, layerBytes, inBytes);
    drawLossChart();
    renderCompare();
    api.framesRendered++;
  }

  function fmt(v) { return v == null ? "–" : Math.abs(v) >= 1000 ? v.toExponential(2) : v.toFixed(3); }

  function drawOutput(outBytes, layerBytes, inBytes) {
    const f = state.frame, hm = f.heatmaps, cv = $("output-heatmap"), c = state.cfg;
    let label = state.desc.task === "regression" ? "A[L]: the predicted value over the plane" :
      "A[L]: P(blue) over the plane; the boundary is where it is 0.5";
    const hv = state.hover;
    if (hv && hv.l < nodes.length - 1 && layerBytes[hv.l - 1]) {
      paint(cv, layerBytes[hv.l - 1], (hv.j - 1) * hm.neuron_grid ** 2, hm.neuron_grid, false, true);
      label = `A[${hv.l}] row ${hv.j}: unit ${hv.j} of layer ${hv.l}`;
    } else {
      paint(cv, outBytes, 0, hm.grid, c.discretize, true);
    }
    $("out-label").textContent = label;
    // the colour bar's ends: a probability for the classifier's output, [-1, 1] (clipped or scaled) otherwise
    const probability = !(hv && hv.l < nodes.length - 1) && state.desc.task !== "regression";
    $("scale-lo").textContent = probability ? "P = 0" : "\u22121";
    $("scale-hi").textContent = probability ? "P = 1" : "1";
    const p = state.points;
    if (!p) return;
    const ctx = cv.getContext("2d"), D = p.domain, W = cv.width, H = cv.height;
    const X = (x) => ((x + D) / (2 * D)) * W, Y = (y) => ((D - y) / (2 * D)) * H;
    const dot = (x1, x2, y, test) => {
      const v = p.task === "regression" ? Math.max(-1, Math.min(1, y)) : (y > 0.5 ? 1 : -1);
      ctx.beginPath(); ctx.arc(X(x1), Y(x2), 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = colourOf(v); ctx.fill();
      ctx.lineWidth = test ? 1.6 : 1; ctx.strokeStyle = test ? "#000" : "#fff"; ctx.stroke();
    };
    for (let i = 0; i < p.train.y.length; i++) dot(p.train.x1[i], p.train.x2[i], p.train.y[i], false);
    if (state.showTest) for (let i = 0; i < p.test.y.length; i++) dot(p.test.x1[i], p.test.x2[i], p.test.y[i], true);
    // axes ticks
    ctx.fillStyle = "rgba(0,0,0,.55)"; ctx.font = "10px sans-serif";
    for (const t of [-6, -3, 0, 3, 6]) { ctx.fillText(String(t), Math.min(W - 12, X(t) + 2), H - 3); }
  }

  function drawLossChart() {
    const cv = $("loss-chart"), ctx = cv.getContext("2d"), W = cv.width, H = cv.height, curve = state.curve;
    ctx.clearRect(0, 0, W, H);
    if (curve.length < 2) return;
    let max = 0;
    for (const r of curve) max = Math.max(max, r[1], r[2]);
    const e0 = curve[0][0], e1 = curve[curve.length - 1][0] || 1;
    for (const [i, colour] of [[2, "#000"], [1, "#999"]]) {
      ctx.beginPath(); ctx.strokeStyle = colour; ctx.lineWidth = 1.5;
      curve.forEach((r, n) => {
        const x = ((r[0] - e0) / Math.max(1, e1 - e0)) * W, y = H - 2 - (r[i] / (max || 1)) * (H - 4);
        if (n === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.stroke();
    }
  }

  // -- the notation panel ------------------------------------------------------------------------
  function renderShapes() {
    const s = state.desc.shapes, box = $("shapes"), L = s.layers.length - 1;
    const rows = s.layers.map((r) => {
      if (r.l === 0) return `<tr><td>0</td><td>input</td><td></td><td></td><td></td><td>A[0] = X: (${r.A[0]}, ${r.A[1]})</td></tr>`;
      return `<tr><td>${r.l}</td><td>${r.g}${r.l === L ? " (output)" : ""}</td><td>W[${r.l}]: (${r.W[0]}, ${r.W[1]})</td>` +
        `<td>b[${r.l}]: (${r.b[0]}, ${r.b[1]})</td><td>Z[${r.l}]: (${r.Z[0]}, ${r.Z[1]})</td><td>A[${r.l}]: (${r.A[0]}, ${r.A[1]})</td></tr>`;
    }).join("");
    box.innerHTML = `<table class="shapes-table"><tr><th>l</th><th>g[l]</th><th>W[l]: (n[l], n[l-1])</th><th>b[l]: (n[l], 1)</th><th>Z[l]: (n[l], m)</th><th>A[l]: (n[l], m)</th></tr>${rows}</table>` +
      `<p class="shapes-note">Rows of X: ${s.layers[0].features.map((f) => state.hello.feature_labels[f]).join(", ")}. L = ${L}, layer_dims = [${s.layer_dims.join(", ")}], ${s.n_params} parameters, loss: ${s.loss}.<br>` +
      `m = ${s.m} training examples (columns of X); the test set has ${s.m_test}. Each step of training uses a mini-batch of ${s.batch} columns, ` +
      `so inside one step Z[l] and A[l] are (n[l], ${s.batch}).<br>Z[l] = W[l] A[l-1] + b[l] &nbsp; A[l] = g[l](Z[l])</p>`;
  }

  // -- compare runs ------------------------------------------------------------------------------
  function runLabel() {
    const c = state.cfg, d = state.desc;
    const arch = c.layers.length ? c.layers.map((n, i) => `${n} ${c.activations[i]}`).join(", ") : "no hidden layer";
    const acc = state.frame && state.frame.test_accuracy != null ? `, test accuracy ${(100 * state.frame.test_accuracy).toFixed(1)}%` : "";
    return `${c.dataset}: [${arch}] ${d.output}, ${c.optimizer} α=${c.learning_rate}, λ=${c.l2}, batch ${c.batch_size}, features ${c.features.join("+")}; epoch ${state.frame ? state.frame.epoch : 0}${acc}`;
  }
  function saveRun() {
    if (state.curve.length < 2) { showError("train first (press play or step), then save the run"); return; }
    state.runs.push({ label: runLabel(), curve: state.curve.map((r) => r.slice()), colour: RUN_COLOURS[state.runs.length % RUN_COLOURS.length] });
    renderCompare();
  }
  function renderCompare() {
    const svg = $("compare-curves"), what = $("compare-what").value === "test" ? 2 : 1;
    const W = 560, H = 220, pad = 34;
    const all = [...state.runs.map((r) => r.curve), state.curve].filter((c) => c.length > 1);
    let maxE = 1, maxJ = 0;
    for (const c of all) for (const r of c) { maxE = Math.max(maxE, r[0]); maxJ = Math.max(maxJ, r[what]); }
    maxJ = maxJ || 1;
    const X = (e) => pad + (e / maxE) * (W - pad - 8), Y = (j) => H - 18 - (j / maxJ) * (H - 28);
    const path = (c) => c.map((r, i) => `${i ? "L" : "M"}${X(r[0]).toFixed(1)},${Y(r[what]).toFixed(1)}`).join("");
    let out = `<line class="axis" x1="${pad}" y1="${H - 18}" x2="${W - 4}" y2="${H - 18}"/><line class="axis" x1="${pad}" y1="6" x2="${pad}" y2="${H - 18}"/>`;
    out += `<text x="${pad}" y="${H - 4}">0</text><text x="${W - 60}" y="${H - 4}">epoch ${maxE}</text>`;
    out += `<text x="2" y="14">${maxJ.toFixed(2)}</text><text x="2" y="${H - 20}">0</text>`;
    state.runs.forEach((r, i) => { if (r.curve.length > 1) out += `<path class="run-curve" data-run="${i + 1}" stroke="${r.colour}" d="${path(r.curve)}"/>`; });
    if (state.curve.length > 1) out += `<path class="current-curve" d="${path(state.curve)}"/>`;
    svg.innerHTML = out;
    const list = $("runs");
    if (list.childElementCount !== state.runs.length) {
      list.innerHTML = "";
      state.runs.forEach((r, i) => {
        const li = document.createElement("li");
        li.innerHTML = `<span class="swatch" style="background:${r.colour}"></span>`;
        li.appendChild(document.createTextNode(r.label));
        const x = document.createElement("button"); x.textContent = "×"; x.title = "remove this run";
        x.onclick = () => { state.runs.splice(i, 1); renderCompare(); };
        li.appendChild(x);
        list.appendChild(li);
      });
    }
  }

  window.addEventListener("resize", () => { if (state.cfg) buildLinks(); state.dirty = true; });
  // a setting pasted into the address bar of an open page (writeHash's replaceState fires no event)
  window.addEventListener("hashchange", () => {
    const h = readHash();
    if (h && state.cfg && Object.keys(h).length) setConfig(completeSetting(h));
  });
  wireControls();
  state.fromHash = readHash();  // read before the first reply rewrites the address
  connect();
  requestAnimationFrame(render);
})();
