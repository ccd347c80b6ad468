// Writes `<file>.br` (brotli, quality 11) beside every style sheet and script of at least
// 1 KiB under the folder given, so the server sends them compressed without compressing
// per request. Run by refresh.sh; `node compress.mjs vendor` alone redoes it.
import { brotliCompressSync, constants } from "node:zlib";
import { readdirSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";

const root = process.argv[2];
if (!root) {
  console.error("usage: node compress.mjs <folder>");
  process.exit(2);
}
let before = 0;
let after = 0;
for (const entry of readdirSync(root, { recursive: true })) {
  const path = join(root, entry);
  if (!/\.(css|js)$/.test(path) || statSync(path).size < 1024) continue;
  const plain = readFileSync(path);
  const packed = brotliCompressSync(plain, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: plain.length,
    },
  });
  writeFileSync(`${path}.br`, packed);
  before += plain.length;
  after += packed.length;
}
console.log(`brotli: ${before} bytes of CSS and JS -> ${after}`);
