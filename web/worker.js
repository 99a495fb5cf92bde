// The playground's Web Worker: it owns the neurite WebAssembly module (the library itself,
// compiled from wasm/), so that training never blocks the page. The page sends it messages
// ({type, ...}); it answers with {type, ...}. All the arithmetic is the module's: this file
// only moves bytes in and out and decides how many steps to run between messages.

let wasm = null; // the module's exports
let running = false; // training until paused or finished
let stepsPerChunk = 1; // grows or shrinks so that a chunk takes about CHUNK_MS
let epochMs = 0; // time spent in training chunks since the current epoch began
const CHUNK_MS = 40;
// Between chunks the worker yields through a message to itself: a task like the page's
// messages, so they are answered, without setTimeout's minimum delay for repeated timers.
const tick = new MessageChannel();
tick.port1.onmessage = () => loop();

function put(bytes) {
  const ptr = wasm.nw_alloc(bytes.length);
  new Uint8Array(wasm.memory.buffer, ptr, bytes.length).set(bytes);
  return [ptr, bytes.length];
}

function answer(code) {
  const bytes = new Uint8Array(wasm.memory.buffer, wasm.nw_out_ptr(), wasm.nw_out_len()).slice();
  if (code !== 0) throw new Error(new TextDecoder().decode(bytes));
  return bytes;
}

const json = (code) => JSON.parse(new TextDecoder().decode(answer(code)));

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function loadData(dataset) {
  if (dataset === "digits") {
    answer(wasm.nw_load_digits());
    return;
  }
  const names = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
  ];
  const files = await Promise.all(names.map((n) => fetchBytes(`data/${n}`)));
  answer(wasm.nw_load_mnist(...files.flatMap(put)));
}

function weights() {
  const bytes = answer(wasm.nw_weights());
  const view = new DataView(bytes.buffer);
  const units = view.getUint32(0, true);
  const side = view.getUint32(4, true);
  postMessage({ type: "weights", units, side, rgba: bytes.slice(8) });
}

function configure(settings) {
  const [ptr, len] = put(new TextEncoder().encode(JSON.stringify(settings)));
  const info = json(wasm.nw_configure(ptr, len));
  started();
  postMessage({ type: "info", info });
  weights();
}

function started() {
  running = false;
  epochMs = 0;
}

// Runs `steps` steps and reports; returns whether the fit has finished. An epoch's
// `page_seconds` is the time its chunks took (with its test evaluation), pauses excluded.
function train(steps) {
  const t0 = performance.now();
  const report = json(wasm.nw_train(steps));
  const t1 = performance.now();
  epochMs += t1 - t0;
  for (const e of report.new_epochs) {
    // A chunk that ends one epoch may begin the next: its time counts for the first.
    e.page_seconds = epochMs / 1000;
    epochMs = 0;
  }
  postMessage({ type: "progress", report, chunk_ms: t1 - t0, steps });
  if (report.new_epochs.length > 0) weights();
  return { finished: report.finished, ms: t1 - t0 };
}

function loop() {
  if (!running) return;
  const { finished, ms } = train(stepsPerChunk);
  if (ms < CHUNK_MS / 2) stepsPerChunk = Math.min(stepsPerChunk * 2, 4096);
  else if (ms > CHUNK_MS * 2 && stepsPerChunk > 1) stepsPerChunk = Math.max(1, stepsPerChunk >> 1);
  if (finished) {
    running = false;
    postMessage({ type: "stopped", finished: true });
    return;
  }
  // Back to the event loop, so that a drawing's prediction or a pause is answered at once.
  tick.port2.postMessage(null);
}

async function instantiate() {
  if (!wasm) {
    const { instance } = await WebAssembly.instantiate(await fetchBytes("neurite.wasm"), {});
    wasm = instance.exports;
  }
}

const handlers = {
  // The training defaults are the library's (train::DEFAULTS), asked of the module.
  async defaults() {
    await instantiate();
    postMessage({ type: "defaults", settings: json(wasm.nw_defaults()) });
  },
  // The data, the settings' model, and then the shipped trained one when the page names it
  // (`shipped`, a path such as models/mlp.safetensors): Reset goes back to the new weights.
  async init({ settings, dataset, shipped }) {
    await instantiate();
    await loadData(dataset);
    if (!shipped) {
      configure(settings);
      return;
    }
    const [ptr, len] = put(new TextEncoder().encode(JSON.stringify(settings)));
    json(wasm.nw_configure(ptr, len));
    handlers.loadModel({ bytes: await fetchBytes(shipped), name: `${shipped} (trained on MNIST)` });
  },
  configure({ settings }) {
    configure(settings);
  },
  reset() {
    const info = json(wasm.nw_reset());
    started();
    postMessage({ type: "info", info });
    weights();
  },
  train() {
    if (running) return;
    running = true;
    postMessage({ type: "running" });
    loop();
  },
  pause() {
    running = false;
    postMessage({ type: "stopped", finished: false });
  },
  step() {
    running = false;
    const { finished } = train(1);
    postMessage({ type: "stopped", finished });
  },
  predict({ rgba, width, height, id }) {
    const t0 = performance.now();
    const [ptr, len] = put(rgba);
    const code = wasm.nw_predict(ptr, len, width, height);
    const ms = performance.now() - t0;
    const text = new TextDecoder().decode(new Uint8Array(wasm.memory.buffer, wasm.nw_out_ptr(), wasm.nw_out_len()));
    // An error here is a blank drawing or no model yet: the page shows it, nothing breaks.
    if (code !== 0) postMessage({ type: "prediction", id, error: text, ms });
    else postMessage({ type: "prediction", id, result: JSON.parse(text), ms });
  },
  loadModel({ bytes, name }) {
    const [ptr, len] = put(bytes);
    const [namePtr, nameLen] = put(new TextEncoder().encode(name));
    const info = json(wasm.nw_load_model(ptr, len, namePtr, nameLen));
    started();
    postMessage({ type: "info", info });
    weights();
  },
  download() {
    const bytes = answer(wasm.nw_model_file());
    postMessage({ type: "model-file", bytes }, [bytes.buffer]);
  },
};

onmessage = async (event) => {
  const message = event.data;
  try {
    await handlers[message.type](message);
  } catch (error) {
    running = false;
    postMessage({ type: "error", what: message.type, message: String(error.message || error) });
  }
};
