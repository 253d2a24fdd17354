// Peer: the official TypeScript SDK (@anthropic-ai/sdk from npm, in bench/node_modules) on
// node, pointed at the bench server with baseURL; the same requests as baseline.c.
//   node bench/sdk.mjs WORKLOAD BASE_URL REQUEST_JSON N [INFLIGHT]
// create: client.messages.create(params), sequentially or INFLIGHT at a time (async workers
// taking the next request). small | mid | big: client.messages.stream(params), iterating its
// events and reading the text deltas (the MessageStream accumulates the message, as ours does).
import Anthropic from '@anthropic-ai/sdk';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const [workload, base, requestFile, nArg, inflightArg] = process.argv.slice(2);
const n = Number(nArg);
const inflight = Number(inflightArg || 1);
const params = JSON.parse(readFileSync(requestFile, 'utf8'));
const KEY = 'sk-ant-api03-bench' + '0'.repeat(88) + '-AAAAAAAA'; // the fake key of bench/common.lua
const stream = workload !== 'create';
const clients = {};
function client(w) {
  if (!clients[w]) {
    clients[w] = new Anthropic({ apiKey: KEY, baseURL: w === 'create' ? base : `${base}/${w}`, maxRetries: 0 });
  }
  return clients[w];
}

async function create(c) {
  const msg = await c.messages.create(params);
  let t = 0;
  for (const block of msg.content) if (block.type === 'text') t += Buffer.byteLength(block.text);
  return t;
}

async function streamOne(c) {
  const s = c.messages.stream(params);
  let t = 0;
  for await (const ev of s) {
    if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') t += Buffer.byteLength(ev.delta.text);
  }
  return t;
}

async function run(w, count, k) {
  const c = client(w);
  let issued = 0;
  let text = 0;
  async function worker() {
    while (issued < count) {
      issued++;
      const t = await (w === 'create' ? create(c) : streamOne(c)); // (not text += await: lost updates)
      text += t;
    }
  }
  await Promise.all(Array.from({ length: k }, worker));
  return text;
}

function statusKb(field) {
  const m = readFileSync('/proc/self/status', 'utf8').match(new RegExp(`${field}:\\s*(\\d+)`));
  return m ? Number(m[1]) : -1;
}

const warmWorkload = stream ? 'small' : 'create';
const warm = workload === 'big' || workload === 'mid' ? 2 : 20;
await run(warmWorkload, inflight > 1 ? inflight * 2 : warm, inflight);
if (global.gc) global.gc();
const rss0 = statusKb('VmRSS');
try { writeFileSync('/proc/self/clear_refs', '5'); } catch { /* older kernels: peak of the whole run */ }
const w0 = performance.now();
const c0 = process.cpuUsage();
const text = await run(workload, n, inflight);
const cu = process.cpuUsage(c0);
const wall = (performance.now() - w0) / 1000;
const peak = statusKb('VmHWM');
console.log(`RESULT n=${n} wall=${wall.toFixed(6)} cpu=${((cu.user + cu.system) / 1e6).toFixed(6)} ` +
  `rss_kb=${peak} grow_kb=${peak - rss0} text=${text}`);
