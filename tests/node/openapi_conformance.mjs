// Runs last in make test (the cleanup of the CTest fixture `api_record`):
// every answer from /api/v1 and /open311 that the integration tests (C
// harness) and the node tests received is checked against web/openapi.json.
// Fails on any answer that does not conform (skips when none was recorded).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadChecker } from './openapi_check.mjs';

test('every recorded answer conforms to /openapi.json', (t) => {
  const dir = process.env.MAPD_API_RECORD_DIR;
  assert.ok(dir, 'MAPD_API_RECORD_DIR must be set (run through ctest)');
  const { check, findPath } = loadChecker();
  const failures = new Map();
  const used = new Set();
  let total = 0;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.jsonl'))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (!line) continue;
      const e = JSON.parse(line);
      total++;
      const t = findPath(new URL(e.path, 'http://x').pathname);
      if (t) used.add(`${e.method === 'HEAD' ? 'GET' : e.method} ${t.template}`);
      const why = check(e);
      if (!why) continue;
      const key = `${e.method} ${t ? t.template : e.path.split('?')[0]} ${e.status}: ${why}`;
      const seen = failures.get(key) || { n: 0, example: `${e.source} ${e.method} ${e.path}` };
      seen.n++;
      failures.set(key, seen);
    }
  }
  console.log(`${total} recorded answers, ${used.size} documented operations exercised`);
  // A run of tests that ask no /api/v1 or /open311 question (ctest -R tile_budget)
  // has nothing to check; the full make test records thousands.
  if (total === 0) { t.skip('no answers were recorded by the tests that ran'); return; }
  const lines = [...failures].map(([k, v]) => `${k} (x${v.n}, e.g. ${v.example.slice(0, 200)})`);
  for (const l of lines) console.log(`not conforming: ${l}`);
  assert.equal(lines.length, 0, `${lines.length} kinds of answers do not conform to web/openapi.json (listed above)`);
});
