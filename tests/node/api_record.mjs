// Loaded into every node test with NODE_OPTIONS=--import (tests/node/tests.cmake):
// when MAPD_API_RECORD_DIR is set, each answer that a test's fetch() gets
// from /api/v1/ or /open311/ is appended as one JSON line to a file of this
// process; openapi_conformance.mjs checks them all against web/openapi.json.
// Streams (text/event-stream) are recorded without their body.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.MAPD_API_RECORD_DIR;
const BODY_MAX = 256 << 10;

if (dir && typeof globalThis.fetch === 'function') {
  const file = join(dir, `node-${process.pid}.jsonl`);
  const realFetch = globalThis.fetch;
  globalThis.fetch = async function recordingFetch(input, init = {}) {
    const res = await realFetch(input, init);
    try {
      const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
      if (!/^\/(api\/v1|open311)\//.test(url.pathname)) return res;
      const method = (init.method || (input instanceof Request ? input.method : 'GET')).toUpperCase();
      const ctype = res.headers.get('content-type') || '';
      const entry = { source: 'node', method, path: url.pathname + url.search, status: res.status,
        content_type: ctype, truncated: false, body: '' };
      if (ctype.startsWith('text/event-stream') || method === 'HEAD') {
        entry.truncated = ctype.startsWith('text/event-stream');
        appendFileSync(file, JSON.stringify(entry) + '\n');
        return res;
      }
      res.clone().arrayBuffer().then((buf) => {
        if (buf.byteLength > BODY_MAX) entry.truncated = true;
        else entry.body = Buffer.from(buf).toString('utf8');
        appendFileSync(file, JSON.stringify(entry) + '\n');
      }, () => {});
    } catch {
      // recording must never change what the test sees
    }
    return res;
  };
}
