// The OpenAPI 3.1 document of /api/v1 and /open311 (web/openapi.json):
// valid by @seriousme/openapi-schema-validator; served at /openapi.json;
// the checker used on every recorded answer (openapi_check.mjs) accepts real
// answers and rejects wrong ones; the interactive API page (Swagger UI,
// served locally) and the developer page render in Chromium with no request
// leaving the server and no console error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startServer } from './mapd_server.mjs';
import { DOC_PATH, loadChecker } from './openapi_check.mjs';
import { launch, openPage, outDir } from './web_browser.mjs';

let srv;
let browser;
const doc = JSON.parse(readFileSync(DOC_PATH, 'utf8'));

before(async () => {
  srv = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  assert.equal(await srv?.stop(), 0, 'mapd exits 0 on SIGTERM');
});

test('the document is valid OpenAPI 3.1', async () => {
  const validator = new Validator();
  const res = await validator.validate(doc);
  assert.equal(validator.version, '3.1');
  assert.ok(res.valid, `invalid OpenAPI document: ${JSON.stringify(res.errors, null, 1)}`);
  const ids = [];
  for (const item of Object.values(doc.paths))
    for (const op of Object.values(item)) if (op.operationId) ids.push(op.operationId);
  assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
});

test('/openapi.json is the document, with an ETag', async () => {
  const res = await fetch(`${srv.base}/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  assert.ok(res.headers.get('etag'));
  assert.deepEqual(await res.json(), doc);
});

async function answer(method, path, init = {}) {
  const res = await fetch(srv.base + path, { method, ...init });
  return { method, path, status: res.status, content_type: res.headers.get('content-type') || '',
    body: await res.text(), truncated: false };
}

test('real answers conform; wrong ones do not', async () => {
  const { check } = loadChecker();
  const good = [
    await answer('GET', '/api/v1/reports?limit=2'),
    await answer('GET', '/api/v1/reports/1'),
    await answer('GET', '/api/v1/reports/1/history'),
    await answer('GET', '/api/v1/reports/999999999'),
    await answer('GET', '/api/v1/nearest?lon=116.397&lat=39.909&k=3'),
    await answer('GET', '/api/v1/categories'),
    await answer('GET', '/open311/v2/services.json'),
    await answer('GET', '/open311/v2/requests/1.json?extensions=true'),
    await answer('GET', '/open311/v2/requests/1.xml'),
    await answer('GET', '/api/v1/no-such-thing'),
  ];
  for (const a of good) assert.equal(check(a), null, `${a.method} ${a.path} ${a.status}`);
  const r1 = JSON.parse(good[1].body);
  delete r1.status;
  assert.match(check({ ...good[1], body: JSON.stringify(r1) }), /must have required property 'status'/);
  assert.match(check({ ...good[1], content_type: 'text/html' }), /content type/);
  assert.match(check({ ...good[0], status: 299 }), /status 299 is not documented/);
  assert.match(check({ ...good[9], status: 200, body: '{}' }), /undocumented route/);
  assert.match(check({ ...good[0], method: 'DELETE', status: 200 }), /not documented/);
});

test('the API page and the developer page render', async () => {
  const { page, log } = await openPage(browser, srv.base);
  await page.goto(`${srv.base}/developers/api`);
  await page.locator('.opblock').first().waitFor({ timeout: 20000 });
  const ops = await page.locator('.opblock').count();
  let documented = 0;
  for (const item of Object.values(doc.paths)) documented += Object.keys(item).length;
  assert.equal(ops, documented, 'one block per documented operation');
  await page.screenshot({ path: join(outDir(), 'developers-api.png') });
  await page.goto(`${srv.base}/developers`);
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 15000 });
  assert.equal(await page.evaluate(() => document.body.dataset.ready), 'true');
  const tilesets = await page.locator('#tilesets tbody tr').count();
  const collections = await page.locator('#collections tbody tr').count();
  assert.ok(tilesets >= 4, `tilesets listed: ${tilesets}`);
  assert.ok(collections >= 4, `collections listed: ${collections}`);
  assert.equal(await page.locator('#exports tbody tr').count(), 4, 'four layers, no consultation yet');
  assert.equal(await page.locator('#tilesets tbody tr', { hasText: 'consultations' }).count(), 1);
  await page.screenshot({ path: join(outDir(), 'developers.png'), fullPage: true });
  assert.deepEqual(log.blocked, [], 'no request leaves the server');
  assert.deepEqual(log.errors, [], 'no console or HTTP errors');
});
