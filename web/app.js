// The playground page: drawing, showing, settings in the address, the chart, model files.
// The network itself lives in worker.js (the neurite WebAssembly module); this file only
// draws what the module answers.
"use strict";

const $ = (id) => document.getElementById(id);
const worker = new Worker("worker.js");

// ---- Language: English by default, Korean when the browser prefers it (its first language,
// navigator.languages[0], starts with "ko"). The page's words are marked in index.html with
// data-i18n (text), data-i18n-html (text with markup), data-i18n-title, -placeholder and
// -aria-label; the status messages go through say(). ----

const KOREAN = {
  title: "neurite 놀이터",
  intro: "숫자를 그리면 모든 층이 어떻게 답하는지 볼 수 있습니다. <code>neurite train</code>을 실행하는 바로 그 라이브러리로, 여기 브라우저 안에서 신경망을 학습시켜 보세요.",
  draw: "그리기",
  "drawing-area": "그리기 영역: 숫자를 그리세요",
  clear: "지우기",
  prediction: "예측:",
  "model-sees": "모델이 보는 그림",
  "model-input": "모델의 입력",
  probabilities: "확률",
  "every-layer": "모든 층",
  "every-layer-help": "칸 하나는 그린 그림에 대한 뉴런 하나의 출력입니다(검정 0, 흰색 1). 작은 그림 하나는 합성곱 층이나 풀링 층의 채널 하나(특징 맵)입니다(검정 0, 흰색은 그 층의 최댓값).",
  weights: "첫 층의 가중치",
  show: "보기",
  "weights-help": "은닉 뉴런마다 찾는 모양: 초록은 양수, 빨강은 음수, 검정은 0 근처.",
  train: "학습",
  data: "데이터",
  "data-mnist": "MNIST 일부 (5,000 + 1,000)",
  "data-digits": "내장된 8x8 숫자",
  model: "모델",
  "model-mlp": "MLP (노트의 신경망)",
  "model-convnet": "합성곱 신경망 (Keras의 MNIST 예제)",
  hidden: "은닉층 크기",
  activation: "활성화 함수",
  optimiser: "옵티마이저",
  lr: "학습률",
  default: "기본값",
  "batch-size": "배치 크기",
  epochs: "에포크",
  seed: "시드",
  "train-button": "학습",
  pause: "일시정지",
  step: "한 단계",
  reset: "초기화",
  "reset-title": "설정대로 학습 전의 가중치에서 다시 시작",
  "test-accuracy": "시험 정확도:",
  chart: "손실과 정확도 그래프",
  "th-epoch": "에포크",
  "th-loss": "손실",
  "th-accuracy": "정확도",
  "th-test-loss": "시험 손실",
  "th-test-accuracy": "시험 정확도",
  "th-seconds": "초",
  "model-file": "모델 파일",
  drop: "<code>neurite train --save</code>로 만든 파일을 페이지 아무 곳에나 끌어다 놓거나",
  "model-file-input": "모델 파일",
  "opens-on": "페이지는 MNIST 전체로 이미 학습된 모델로 열립니다(<a href=\"models/README.md\">models/README.md</a> 참고). 초기화를 누르면 학습 전의 가중치에서 시작합니다.",
  download: "이 모델 내려받기",
  footer: "이 페이지의 모든 것은 여러분 컴퓨터의 <code>neurite playground</code> 서버에서 옵니다. MNIST: Yann LeCun, Corinna Cortes, Christopher J. C. Burges (CC BY-SA 3.0); <a href=\"data/README.md\">data/README.md</a> 참고.",
};

// Status messages: [English, Korean].
const MESSAGES = {
  loading: ["loading…", "불러오는 중…"],
  reading: [(name) => `reading ${name}…`, (name) => `${name} 읽는 중…`],
  training: ["training…", "학습 중…"],
  finished: ["finished", "끝남"],
  paused: ["paused", "일시정지됨"],
  ready: [
    (d, train, test, where) => `ready: ${d} (${train} training, ${test} test examples), model from ${where}`,
    (d, train, test, where) => `준비됨: ${d} (학습 예제 ${train}개, 시험 예제 ${test}개), 모델: ${where}`,
  ],
  "new-weights": [(seed) => `new weights (seed ${seed})`, (seed) => `새 가중치 (시드 ${seed})`],
  error: [(what, message) => `error (${what}): ${message}`, (what, message) => `오류 (${what}): ${message}`],
};

const LANGUAGE = ((navigator.languages && navigator.languages[0]) || navigator.language || "en")
  .toLowerCase()
  .startsWith("ko")
  ? "ko"
  : "en";

function say(key, ...args) {
  const text = MESSAGES[key][LANGUAGE === "ko" ? 1 : 0];
  return typeof text === "function" ? text(...args) : text;
}

function translatePage() {
  if (LANGUAGE !== "ko") return;
  document.documentElement.lang = "ko";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = KOREAN[el.dataset.i18n];
  for (const el of document.querySelectorAll("[data-i18n-html]")) el.innerHTML = KOREAN[el.dataset.i18nHtml];
  for (const attr of ["title", "placeholder", "aria-label"]) {
    const data = `i18n${attr.split("-").map((w) => w[0].toUpperCase() + w.slice(1)).join("")}`;
    for (const el of document.querySelectorAll(`[data-i18n-${attr}]`)) el.setAttribute(attr, KOREAN[el.dataset[data]]);
  }
  $("status").textContent = say("loading");
}

translatePage();

// ---- Settings: the form, the address and `neurite train`'s flags are the same thing. ----

// id: [query name, default]. The training defaults are filled in from the library's own
// (train::DEFAULTS, through the module's nw_defaults) before the address is read; only the
// data set the page opens on is the page's choice.
const FIELDS = {
  dataset: ["data", "mnist"],
  model: ["model", "mlp"],
  hidden: ["hidden", null],
  activation: ["activation", null],
  optimizer: ["optimizer", null],
  lr: ["lr", ""],
  "batch-size": ["batch_size", null],
  epochs: ["epochs", null],
  seed: ["seed", null],
};

function takeDefaults(s) {
  FIELDS.hidden[1] = s.hidden.join(",");
  FIELDS.activation[1] = s.activation;
  FIELDS.optimizer[1] = s.optimizer;
  FIELDS.lr[1] = s.lr == null ? "" : String(s.lr);
  FIELDS["batch-size"][1] = String(s.batch_size);
  FIELDS.epochs[1] = String(s.epochs);
  FIELDS.seed[1] = String(s.seed);
}

function readAddress() {
  const query = new URLSearchParams(location.search);
  for (const [id, [name, fallback]] of Object.entries(FIELDS)) {
    $(id).value = query.get(name) ?? fallback;
  }
}

function writeAddress() {
  const query = new URLSearchParams();
  for (const [id, [name, fallback]] of Object.entries(FIELDS)) {
    if ($(id).value !== fallback) query.set(name, $(id).value);
  }
  const search = query.toString();
  history.replaceState(null, "", search ? `?${search}` : location.pathname);
}

// The convnet the page offers: `neurite train --layers keras-convnet`, Keras' "Simple MNIST
// convnet" (34,826 parameters). One epoch on the shipped 5,000 pictures takes about a minute
// in the page (BENCHMARKS.md), so the page trains the example itself rather than a smaller one.
const CONVNET = "keras-convnet";

function settings() {
  const s = {
    hidden: $("hidden").value.split(",").filter((v) => v.trim() !== "").map((v) => Number.parseInt(v, 10)),
    activation: $("activation").value,
    optimizer: $("optimizer").value,
    batch_size: Number.parseInt($("batch-size").value, 10),
    epochs: Number.parseInt($("epochs").value, 10),
    seed: Number.parseInt($("seed").value, 10),
  };
  if ($("lr").value.trim() !== "") s.lr = Number.parseFloat($("lr").value);
  if ($("model").value === "convnet") s.layers = CONVNET;
  return s;
}

// The model the page opens on: one trained on all of MNIST and shipped with the page
// (web/models/README.md says how each was made), when the data is MNIST and the form
// describes that model; otherwise none, and the page starts from the settings' new weights.
function shippedModel() {
  if ($("dataset").value !== "mnist") return null;
  if ($("model").value === "convnet") return "models/convnet.safetensors";
  const mlp = $("hidden").value === FIELDS.hidden[1] && $("activation").value === FIELDS.activation[1];
  return mlp ? "models/mlp.safetensors" : null;
}

// The MLP's own fields mean nothing for the convnet.
function showModelFields() {
  const convnet = $("model").value === "convnet";
  $("hidden").disabled = convnet;
  $("activation").disabled = convnet;
}

// ---- Status ----

function status(text, state) {
  $("status").textContent = text;
  $("status").dataset.state = state;
}

// ---- Drawing ----

const draw = $("draw");
const pen = draw.getContext("2d", { willReadFrequently: true });
let last = null;

function clearDrawing() {
  pen.fillStyle = "#000";
  pen.fillRect(0, 0, draw.width, draw.height);
  showBlank();
}

function point(event) {
  const box = draw.getBoundingClientRect();
  return [((event.clientX - box.left) * draw.width) / box.width, ((event.clientY - box.top) * draw.height) / box.height];
}

draw.addEventListener("pointerdown", (event) => {
  draw.setPointerCapture(event.pointerId);
  last = point(event);
  stroke(last, last);
  event.preventDefault();
});
draw.addEventListener("pointermove", (event) => {
  if (last === null) return;
  // Coalesced events: every sample a pen or finger gave since the last frame.
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) {
    const p = point(e);
    stroke(last, p);
    last = p;
  }
  event.preventDefault();
});
for (const type of ["pointerup", "pointercancel"]) {
  draw.addEventListener(type, () => {
    last = null;
  });
}

function stroke(from, to) {
  pen.strokeStyle = "#fff";
  pen.lineWidth = 20;
  pen.lineCap = "round";
  pen.lineJoin = "round";
  pen.beginPath();
  pen.moveTo(from[0], from[1]);
  pen.lineTo(to[0], to[1]);
  pen.stroke();
  askPrediction();
}

$("clear").addEventListener("click", clearDrawing);

// ---- Predictions: one request in flight, the newest drawing next. ----

let inFlight = false;
let pending = false;
let requestId = 0;
let sentAt = 0;
// The last 200 round trips (drawing to answer) and the module's own share, in ms.
const latencies = [];
const moduleTimes = [];

function askPrediction() {
  if (inFlight) {
    pending = true;
    return;
  }
  inFlight = true;
  pending = false;
  const image = pen.getImageData(0, 0, draw.width, draw.height);
  sentAt = performance.now();
  requestId += 1;
  // The pixels move to the worker (transferred, not copied).
  worker.postMessage({ type: "predict", rgba: image.data, width: image.width, height: image.height, id: requestId }, [
    image.data.buffer,
  ]);
}

function showBlank() {
  $("prediction").textContent = "–";
  $("probabilities").dataset.values = "[]";
  $("probabilities").dataset.class = "";
  for (const bar of document.querySelectorAll("#probabilities .bar")) bar.style.width = "0";
  for (const value of document.querySelectorAll("#probabilities .value")) value.textContent = "";
  const input = $("input").getContext("2d");
  input.fillStyle = "#000";
  input.fillRect(0, 0, $("input").width, $("input").height);
  for (const cell of document.querySelectorAll("#layers .cell")) cell.style.background = "#000";
}

function showPrediction({ result, error, ms }) {
  const roundTrip = performance.now() - sentAt;
  latencies.push(roundTrip);
  moduleTimes.push(ms);
  if (latencies.length > 200) latencies.shift();
  if (moduleTimes.length > 200) moduleTimes.shift();
  $("latency").textContent = `${roundTrip.toFixed(1)} ms (module ${ms.toFixed(1)} ms)`;
  $("latency").dataset.ms = String(roundTrip);
  if (error !== undefined) {
    showBlank();
    return;
  }
  $("prediction").textContent = String(result.class);
  const probabilities = $("probabilities");
  probabilities.dataset.values = JSON.stringify(result.probabilities);
  probabilities.dataset.class = String(result.class);
  drawBars(result.probabilities, result.class);
  drawGrey($("input"), result.input, result.side, result.side);
  drawLayers(result.layers, result.shapes);
}

function drawBars(values, best) {
  const box = $("probabilities");
  if (box.children.length !== values.length) {
    box.replaceChildren(
      ...values.map((_, i) => {
        const row = document.createElement("div");
        row.className = "prob";
        row.id = `prob-${i}`;
        row.innerHTML = `<span class="digit">${i}</span><span class="track"><span class="bar"></span></span><span class="value"></span>`;
        return row;
      }),
    );
  }
  values.forEach((v, i) => {
    const row = box.children[i];
    row.classList.toggle("best", i === best);
    row.querySelector(".bar").style.width = `${Math.max(0, Math.min(1, v)) * 100}%`;
    row.querySelector(".value").textContent = v.toFixed(3);
  });
}

function drawGrey(canvas, values, width, height) {
  const small = new ImageData(width, height);
  values.forEach((v, i) => {
    const g = Math.round(Math.max(0, Math.min(1, v)) * 255);
    small.data.set([g, g, g, 255], i * 4);
  });
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = false;
  createImageBitmap(small).then((bitmap) => context.drawImage(bitmap, 0, 0, canvas.width, canvas.height));
}

// The layers' class names, from the module's info (Conv2D, MaxPooling2D, Dense, ...).
let layerNames = [];
// A flat layer wider than this (a convnet's Flatten, its Dropout) is named, not drawn: its
// values are the feature maps above it in one row.
const MAX_CELLS = 256;

// Each layer's output for the drawing: a feature map per channel for an image-shaped output
// (height, width, channels, channels last), a cell per unit for a flat one.
function drawLayers(layers, shapes) {
  const box = $("layers");
  const key = (shape) => shape.join("x");
  if (box.children.length !== layers.length || [...box.children].some((el, i) => el.dataset.shape !== key(shapes[i]))) {
    box.replaceChildren(
      ...layers.map((units, l) => {
        const shape = shapes[l];
        const layer = document.createElement("div");
        layer.className = "layer";
        layer.id = `layer-${l + 1}`;
        layer.dataset.shape = key(shape);
        layer.dataset.units = String(units.length);
        const title = document.createElement("div");
        title.className = "layer-title";
        const name = layerNames[l] ? `${layerNames[l]}, ` : "";
        const output = l === layers.length - 1 ? " (output)" : "";
        const body = document.createElement("div");
        if (shape.length === 3) {
          const [h, w, c] = shape;
          title.textContent = `layer ${l + 1}: ${name}${c} feature maps of ${h}x${w}`;
          body.className = "maps";
          for (let ch = 0; ch < c; ch++) {
            const canvas = document.createElement("canvas");
            canvas.width = w;
            canvas.height = h;
            canvas.title = `channel ${ch}`;
            body.append(canvas);
          }
        } else if (units.length > MAX_CELLS) {
          title.textContent = `layer ${l + 1}: ${name}${units.length} values (the maps above, in one row)${output}`;
        } else {
          title.textContent = `layer ${l + 1}: ${name}${units.length} units${output}`;
          body.className = "cells";
          for (let u = 0; u < units.length; u++) {
            const cell = document.createElement("span");
            cell.className = "cell";
            body.append(cell);
          }
        }
        layer.append(title, body);
        return layer;
      }),
    );
  }
  layers.forEach((units, l) => {
    const shape = shapes[l];
    if (shape.length === 3) {
      drawMaps(box.children[l].querySelectorAll("canvas"), units, shape);
      return;
    }
    const cells = box.children[l].querySelectorAll(".cell");
    if (cells.length === 0) return;
    units.forEach((v, u) => {
      const g = Math.round(Math.max(0, Math.min(1, v)) * 255);
      cells[u].style.background = `rgb(${g},${g},${g})`;
      cells[u].title = `unit ${u}: ${v.toFixed(4)}`;
    });
  });
}

// One grey picture per channel of a (height, width, channels) output, channels last; the
// whole layer on one scale, black 0 (or below) to white its largest value.
function drawMaps(canvases, values, [h, w, c]) {
  const largest = values.reduce((m, v) => Math.max(m, v), 0);
  const scale = largest > 0 ? 255 / largest : 0;
  canvases.forEach((canvas, ch) => {
    const picture = new ImageData(w, h);
    for (let i = 0; i < h * w; i++) {
      const g = Math.round(Math.max(0, values[i * c + ch]) * scale);
      picture.data.set([g, g, g, 255], i * 4);
    }
    canvas.getContext("2d").putImageData(picture, 0, 0);
  });
}

// ---- The first layer's weights ----

let lastWeights = null;

function drawWeights(message) {
  lastWeights = message;
  const box = $("weights");
  box.replaceChildren();
  if (!$("show-weights").checked || message.side === 0) return;
  const { units, side, rgba } = message;
  const size = side * side * 4;
  for (let u = 0; u < units; u++) {
    const canvas = document.createElement("canvas");
    canvas.width = side;
    canvas.height = side;
    canvas.title = `unit ${u}`;
    canvas.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(rgba.slice(u * size, (u + 1) * size)), side, side), 0, 0);
    box.append(canvas);
  }
}

$("show-weights").addEventListener("change", () => lastWeights && drawWeights(lastWeights));

// ---- Training and the chart ----

let points = []; // {x, loss, accuracy}
let epochs = []; // the module's epoch reports

function resetRun() {
  points = [];
  epochs = [];
  $("history").textContent = "[]";
  $("epochs-table").tBodies[0].replaceChildren();
  $("accuracy").textContent = "–";
  $("accuracy").dataset.value = "";
  $("progress").textContent = "";
  drawChart();
}

function onProgress({ report }) {
  const x = report.finished ? report.epoch : report.epoch - 1 + report.step / report.steps_per_epoch;
  if (report.running_loss !== null) points.push({ x, loss: report.running_loss, accuracy: report.running_accuracy });
  for (const e of report.new_epochs) {
    epochs.push(e);
    const row = document.createElement("tr");
    const cells = [e.logs.epoch, e.logs.loss.toFixed(4), e.logs.accuracy.toFixed(4), e.test_loss.toFixed(4), e.test_accuracy.toFixed(4), e.page_seconds.toFixed(2)];
    row.innerHTML = cells.map((c) => `<td>${c}</td>`).join("");
    $("epochs-table").tBodies[0].append(row);
    $("accuracy").textContent = `${(e.test_accuracy * 100).toFixed(2)}%`;
    $("accuracy").dataset.value = String(e.test_accuracy);
  }
  if (report.new_epochs.length) $("history").textContent = JSON.stringify(epochs);
  $("progress").textContent = report.finished
    ? `finished ${report.epochs} epoch${report.epochs === 1 ? "" : "s"}`
    : `epoch ${report.epoch} of ${report.epochs}, step ${report.step} of ${report.steps_per_epoch}` +
      (report.running_loss !== null ? `, loss ${report.running_loss.toFixed(4)}, accuracy ${report.running_accuracy.toFixed(4)}` : "");
  drawChart();
  if (!inFlight) askPrediction();
}

function drawChart() {
  const canvas = $("chart");
  const c = canvas.getContext("2d");
  const [w, h] = [canvas.width, canvas.height];
  const pad = { left: 44, right: 44, top: 14, bottom: 30 };
  c.fillStyle = "#fff";
  c.fillRect(0, 0, w, h);
  const total = Math.max(1, Number.parseInt($("epochs").value, 10) || 1);
  const maxLoss = Math.max(0.5, ...points.map((p) => p.loss), ...epochs.map((e) => e.test_loss));
  const X = (x) => pad.left + (x / total) * (w - pad.left - pad.right);
  const L = (v) => h - pad.bottom - (v / maxLoss) * (h - pad.top - pad.bottom);
  const A = (v) => h - pad.bottom - v * (h - pad.top - pad.bottom);
  c.strokeStyle = "#999";
  c.lineWidth = 1;
  c.strokeRect(pad.left, pad.top, w - pad.left - pad.right, h - pad.top - pad.bottom);
  c.fillStyle = "#333";
  c.font = "11px sans-serif";
  c.textAlign = "center";
  for (let e = 0; e <= total; e += Math.max(1, Math.ceil(total / 10))) c.fillText(String(e), X(e), h - pad.bottom + 13);
  c.fillText("epoch", w / 2, h - 4);
  c.textAlign = "right";
  for (const v of [0, 0.5, 1]) c.fillText((v * maxLoss).toFixed(2), pad.left - 4, L(v * maxLoss) + 4);
  c.textAlign = "left";
  for (const v of [0, 0.5, 1]) c.fillText(v.toFixed(1), w - pad.right + 4, A(v) + 4);
  const line = (colour, ys) => {
    c.strokeStyle = colour;
    c.lineWidth = 2;
    c.beginPath();
    points.forEach((p, i) => (i ? c.lineTo(X(p.x), ys(p)) : c.moveTo(X(p.x), ys(p))));
    c.stroke();
  };
  line("#1f77b4", (p) => L(p.loss));
  line("#ff7f0e", (p) => A(p.accuracy));
  c.fillStyle = "#2ca02c";
  for (const e of epochs) {
    c.beginPath();
    c.arc(X(e.logs.epoch), A(e.test_accuracy), 4, 0, 2 * Math.PI);
    c.fill();
  }
  c.fillStyle = "#1f77b4";
  c.fillText("loss (left)", pad.left + 6, pad.top + 12);
  c.fillStyle = "#ff7f0e";
  c.fillText("accuracy (right)", pad.left + 86, pad.top + 12);
  c.fillStyle = "#2ca02c";
  c.fillText("● test accuracy", pad.left + 196, pad.top + 12);
}

$("train").addEventListener("click", () => worker.postMessage({ type: "train" }));
$("pause").addEventListener("click", () => worker.postMessage({ type: "pause" }));
$("step").addEventListener("click", () => worker.postMessage({ type: "step" }));
$("reset").addEventListener("click", () => {
  resetRun();
  worker.postMessage({ type: "reset" });
});

let dataset = null;
let kind = null; // the model select's value the worker last started
$("settings").addEventListener("change", () => {
  writeAddress();
  resetRun();
  showModelFields();
  if ($("dataset").value !== dataset || $("model").value !== kind) {
    dataset = $("dataset").value;
    kind = $("model").value;
    status(say("loading"), "loading");
    worker.postMessage({ type: "init", settings: settings(), dataset, shipped: shippedModel() });
  } else {
    worker.postMessage({ type: "configure", settings: settings() });
  }
});
$("settings").addEventListener("submit", (event) => event.preventDefault());

// ---- Model files ----

async function loadModelFile(file) {
  resetRun();
  status(say("reading", file.name), "loading");
  worker.postMessage({ type: "loadModel", bytes: new Uint8Array(await file.arrayBuffer()), name: file.name });
}

$("model-file").addEventListener("change", () => {
  const file = $("model-file").files[0];
  if (file) loadModelFile(file);
});
document.addEventListener("dragover", (event) => event.preventDefault());
document.addEventListener("drop", (event) => {
  event.preventDefault();
  const file = event.dataTransfer.files[0];
  if (file) loadModelFile(file);
});
$("download").addEventListener("click", () => worker.postMessage({ type: "download" }));

function saveFile({ bytes }) {
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = "playground.safetensors";
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---- Messages from the worker ----

worker.onmessage = ({ data }) => {
  switch (data.type) {
    case "defaults":
      takeDefaults(data.settings);
      start();
      break;
    case "info": {
      const info = data.info;
      $("summary").textContent = info.summary;
      layerNames = info.layers.map((l) => l.class_name);
      const where = info.origin === "new" ? say("new-weights", info.settings.seed) : info.origin;
      status(say("ready", info.dataset, info.train_examples, info.test_examples, where), "ready");
      showBlank();
      askPrediction();
      break;
    }
    case "weights":
      drawWeights(data);
      break;
    case "running":
      status(say("training"), "training");
      break;
    case "progress":
      onProgress(data);
      break;
    case "stopped":
      status(say(data.finished ? "finished" : "paused"), data.finished ? "finished" : "paused");
      break;
    case "prediction":
      inFlight = false;
      showPrediction(data);
      if (pending) askPrediction();
      break;
    case "model-file":
      saveFile(data);
      break;
    case "error":
      if (data.what === "predict") inFlight = false;
      status(say("error", data.what, data.message), "error");
      break;
  }
};

function start() {
  readAddress();
  clearDrawing();
  drawChart();
  showModelFields();
  dataset = $("dataset").value;
  kind = $("model").value;
  worker.postMessage({ type: "init", settings: settings(), dataset, shipped: shippedModel() });
}

worker.postMessage({ type: "defaults" });
