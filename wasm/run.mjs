// Runs the neurite-wasm training export under Node, with no npm packages:
//   node wasm/run.mjs <neurite_wasm.wasm> <seed> <epochs>
// prints one line, `accuracy=<x> loss=<y>`, each number in full (shortest round-trip) precision.
// The .wasm has no imports, so it instantiates with an empty import object, as in a browser.
import { readFile } from "node:fs/promises";

const [wasmPath, seedArg, epochsArg] = process.argv.slice(2);
if (!wasmPath || seedArg === undefined || epochsArg === undefined) {
  console.error("usage: node run.mjs <file.wasm> <seed> <epochs>");
  process.exit(2);
}
const seed = BigInt(seedArg); // a u64 is a BigInt on the JavaScript side
const epochs = Number.parseInt(epochsArg, 10);
if (seed < 0n || seed >= 1n << 64n || !Number.isInteger(epochs) || epochs < 0 || epochs > 0xffffffff) {
  console.error(`bad seed or epochs: ${seedArg} ${epochsArg}`);
  process.exit(2);
}

const { instance } = await WebAssembly.instantiate(await readFile(wasmPath), {});
const { train_digits, train_digits_loss } = instance.exports;
// Each export trains the same model from scratch (the run is deterministic, so they agree).
// A u64 parameter takes a BigInt; values at or above 2^63 are passed as their i64 wrap.
const seedI64 = BigInt.asIntN(64, seed);
const accuracy = train_digits(seedI64, epochs);
const loss = train_digits_loss(seedI64, epochs);
if (accuracy < 0 || loss < 0) {
  console.error(`training failed inside the module (accuracy=${accuracy} loss=${loss})`);
  process.exit(1);
}
console.log(`accuracy=${accuracy} loss=${loss}`);
