// Admins edit facilities and facility categories, with history: the API
// (PATCH /api/v1/facilities/{id}, PUT /api/v1/facility-categories/{code},
// their /history; admin tokens only) and the admin page (/admin) in
// headless Chromium. A change is on the map's data at once (the OGC item
// and the style's colours) and its history keeps before/after, who, when.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startServer } from './mapd_server.mjs';
import { launch, openPage, outDir } from './web_browser.mjs';

let srv;
let browser;
const tok = {};
const cli = (role) => execFileSync(process.env.MAPD_BIN, ['token', 'add', '--db', srv.db, '--role', role],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();

before(async () => {
  srv = await startServer();
  tok.admin = cli('admin');
  tok.centre = cli('centre');
  browser = await launch();
});
after(async () => {
  await browser?.close();
  assert.equal(await srv?.stop(), 0, 'mapd exits 0 on SIGTERM');
});

const call = async (method, path, body, t) => {
  const headers = {};
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(srv.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json().catch(() => null) };
};

test('the API: admin only, validated, with history', async () => {
  assert.equal((await call('PATCH', '/api/v1/facilities/1', { name: 'x' })).status, 401);
  assert.equal((await call('PATCH', '/api/v1/facilities/1', { name: 'x' }, tok.centre)).status, 403);
  assert.equal((await call('PATCH', '/api/v1/facilities/1', { category: 'casino' }, tok.admin)).status, 400);
  assert.equal((await call('PATCH', '/api/v1/facilities/1', { status: 'gone' }, tok.admin)).status, 400);
  assert.equal((await call('PATCH', '/api/v1/facilities/1', { colour: 'x' }, tok.admin)).status, 400);
  assert.equal((await call('PATCH', '/api/v1/facilities/999999999', { name: 'x' }, tok.admin)).status, 404);
  const before = (await call('GET', '/ogc/collections/facilities/items/1')).json.properties;
  const r = await call('PATCH', '/api/v1/facilities/1', { name: '测试便利店（改名）', opening_hours: '24小时' }, tok.admin);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.name, '测试便利店（改名）');
  assert.equal((await call('PATCH', '/api/v1/facilities/1', { name: '测试便利店（改名）' }, tok.admin)).status, 400, 'no-op edit');
  const now = (await call('GET', '/ogc/collections/facilities/items/1')).json.properties;
  assert.equal(now.name, '测试便利店（改名）');
  const h = (await call('GET', '/api/v1/facilities/1/history')).json.history;
  const last = h.at(-1);
  assert.deepEqual(last.change, { before: { name: before.name, opening_hours: before.opening_hours },
    after: { name: '测试便利店（改名）', opening_hours: '24小时' } });
  assert.equal(last.role, 'admin');
  assert.equal(last.report_id, null);

  assert.equal((await call('PUT', '/api/v1/facility-categories/Bad Code', { name_zh: 'a', name_en: 'b', color: '#123456' }, tok.admin)).status, 400);
  assert.equal((await call('PUT', '/api/v1/facility-categories/water', { name_zh: '饮水点', name_en: 'Water', color: 'blue' }, tok.admin)).status, 400);
  const put = await call('PUT', '/api/v1/facility-categories/water', { name_zh: '饮水点', name_en: 'Drinking water', color: '#1c7ed6' }, tok.admin);
  assert.equal(put.status, 200, JSON.stringify(put.json));
  const list = (await call('GET', '/api/v1/facility-categories')).json.facility_categories;
  assert.ok(list.some((c) => c.code === 'water' && c.color === '#1c7ed6'));
  const style = await (await fetch(`${srv.base}/styles/mapd.json`)).text();
  assert.match(style, /#1c7ed6/i, 'the style colours the new category');
  const ch = (await call('GET', '/api/v1/facility-categories/water/history')).json.history;
  assert.equal(ch.length, 1);
  assert.equal(ch[0].change.before, null);
});

test('the admin page edits a category and a facility and shows the history', async () => {
  const { page, log } = await openPage(browser, srv.base);
  await page.goto(`${srv.base}/admin#token=${tok.admin}`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 15000 });
  const row = page.locator('#categories tr[data-code="toilet"]');
  await row.locator('input[name="name_en"]').fill('Public toilet (WC)');
  await row.locator('button[data-save="toilet"]').click();
  await page.waitForFunction(() => document.querySelector('#history')?.dataset.count === '1', null, { timeout: 10000 });
  const cats = (await call('GET', '/api/v1/facility-categories')).json.facility_categories;
  assert.equal(cats.find((c) => c.code === 'toilet').name_en, 'Public toilet (WC)');

  await page.locator('#facility-id').fill('2');
  await page.locator('#facility-load button').click();
  await page.locator('#facility-fields input[name="name"]').waitFor();
  await page.locator('#facility-fields input[name="phone"]').fill('010-12345678');
  await page.locator('#facility-save').click();
  await page.waitForFunction(() => document.querySelector('#history')?.dataset.count === '1' &&
    document.querySelector('#history').textContent.includes('010-12345678'), null, { timeout: 10000 });
  const f = (await call('GET', '/ogc/collections/facilities/items/2')).json.properties;
  assert.equal(f.phone, '010-12345678');
  await page.screenshot({ path: join(outDir(), 'admin.png'), fullPage: true });
  assert.deepEqual(log.blocked, []);
  assert.deepEqual(log.errors, []);
});
