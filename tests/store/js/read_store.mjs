// Read every array of an fnstore Zarr v3 store with zarrita (JavaScript), independently of Python.
//
// Usage: node read_store.mjs STORE_FOLDER
// Prints one JSON object: {"reader", "node", "float16_array", "arrays": {path: entry}} where an
// entry is {"shape", "dtype", "sha256"} (SHA-256 of the C-order element bytes, little-endian as
// Node lays typed arrays out on every platform it runs on here) plus "names" for uint8 name
// arrays (rows decoded as zero-padded UTF-8), or {"dtype", "error"} when zarrita cannot read it.
// The arrays are found from the root group's consolidated metadata, as a JavaScript client would
// discover them; tests/store/test_readers.py checks that list against the zarr.json files.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { FileSystemStore } from "@zarrita/storage";
import * as zarr from "zarrita";

const NAME_ATTR = "names";

function sha256(data) {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return createHash("sha256").update(bytes).digest("hex");
}

function decodeNames(data, shape) {
  const [n, width] = shape;
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const rows = [];
  for (let i = 0; i < n; i++) {
    const row = data.subarray(i * width, (i + 1) * width);
    let end = row.indexOf(0);
    if (end < 0) end = width;
    rows.push(decoder.decode(row.subarray(0, end)));
  }
  return rows;
}

async function readArray(root, path, dtype) {
  try {
    const arr = await zarr.open.v3(root.resolve(path), { kind: "array" });
    const chunk = await zarr.get(arr);
    const entry = { shape: chunk.shape, dtype: arr.dtype, sha256: sha256(chunk.data) };
    if (arr.dtype === "uint8" && NAME_ATTR in arr.attrs) {
      entry.names = decodeNames(chunk.data, chunk.shape);
    }
    return entry;
  } catch (err) {
    return { dtype, error: `${err.name}: ${err.message}` };
  }
}

async function main(folder) {
  const store = await zarr.withConsolidatedMetadata(new FileSystemStore(folder), { format: "v3" });
  const root = zarr.root(store);
  const paths = store
    .contents()
    .filter((node) => node.kind === "array")
    .map((node) => node.path.replace(/^\//, ""))
    .sort();
  const arrays = {};
  for (const path of paths) {
    const meta = JSON.parse(new TextDecoder().decode(await store.get(`/${path}/zarr.json`)));
    arrays[path] = await readArray(root, path, meta.data_type);
  }
  const pkg = JSON.parse(readFileSync(new URL("./node_modules/zarrita/package.json", import.meta.url)));
  const report = {
    reader: `zarrita ${pkg.version}`,
    node: process.version,
    float16_array: typeof globalThis.Float16Array === "function",
    arrays,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main(process.argv[2]).catch((err) => {
  process.stderr.write(`Error: ${process.argv[2]}: ${err.message}\n`);
  process.exit(1);
});
