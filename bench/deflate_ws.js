// bench/deflate_ws.js: the node's-ws side of row 8 of `make bench` (run by bench/deflate.c).
//     node bench/deflate_ws.js DIR REPS
// DIR holds KIND-SIZE.bin files, each a run of messages of SIZE bytes (written by
// bench/deflate.c: the same messages the library compresses). Each message goes through
// ws's PerMessageDeflate.compress(message, fin = true) on the client side with ws's
// defaults (zlib level 6, window 15, memLevel 8, context kept), one message at a time,
// as ws sends them. Per file and repetition: the process's CPU time (user + system, so
// zlib's work on node's thread pool is counted) and the wall time, per message; REPS
// repetitions, medians. Prints "ws-version V" then per file
//     case KIND SIZE CPU_SECONDS WALL_SECONDS WIRE_FRACTION
// (WIRE_FRACTION: compressed bytes + frame header over the message bytes), or
// "missing WHAT" when ws is not installed (npm ci --prefix tests/interop/node).
'use strict';
const fs = require('fs');
const path = require('path');

const [dir, repsArg] = process.argv.slice(2);
const reps = Math.max(1, parseInt(repsArg || '7', 10));
let PerMessageDeflate;
let version;
try {
  const base = path.resolve(__dirname, '..', 'tests', 'interop', 'node', 'node_modules', 'ws');
  PerMessageDeflate = require(path.join(base, 'lib', 'permessage-deflate.js'));
  version = require(path.join(base, 'package.json')).version;
} catch (e) {
  console.log('missing node ws in tests/interop/node (npm ci --prefix tests/interop/node)');
  process.exit(0);
}

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function compressOne(pmd, buf) {
  return new Promise((resolve, reject) => {
    pmd.compress(buf, true, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

function header(n) { return 2 + 4 + (n < 126 ? 0 : n <= 0xffff ? 2 : 8); }

async function runFile(file, kind, size) {
  const all = fs.readFileSync(path.join(dir, file));
  const count = all.length / size;
  const msgs = [];
  for (let i = 0; i < count; i++) msgs.push(all.subarray(i * size, (i + 1) * size));
  const cpu = [];
  const wall = [];
  let wire = 0;
  for (let r = 0; r < reps; r++) {
    const pmd = new PerMessageDeflate({ isServer: false });
    pmd.accept([{}]);
    await compressOne(pmd, msgs[0]);   // creates the deflate stream outside the clock
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let bytes = 0;
    for (const m of msgs) {
      const out = await compressOne(pmd, m);
      bytes += out.length + header(out.length);
    }
    const t1 = process.hrtime.bigint();
    const c1 = process.cpuUsage(c0);
    cpu.push((c1.user + c1.system) / 1e6 / count);
    wall.push(Number(t1 - t0) / 1e9 / count);
    wire = bytes / (count * size);
    pmd.cleanup();
  }
  console.log(`case ${kind} ${size} ${median(cpu)} ${median(wall)} ${wire}`);
}

(async () => {
  console.log(`ws-version ws-${version}/node-${process.version}/zlib-${process.versions.zlib}`);
  for (const file of fs.readdirSync(dir).sort()) {
    const m = /^([a-z]+)-(\d+)\.bin$/.exec(file);
    if (m) await runFile(file, m[1], parseInt(m[2], 10));
  }
})();
