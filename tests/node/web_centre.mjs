// The command centre's full workflow and the officer's phone view in headless
// Chromium. The centre (/?view=centre) takes every transition of the workflow
// with a note: accept, reject, dispatch (to a unit and an officer), verify,
// rework (to another unit), park, resume, merge. The officer (/officer, 390 x
// 844, with the browser's geolocation) sees their own cases by deadline, the
// straight-line way and distance to the chosen one, starts it and reports
// back, and files a patrol incident on the spot. Screenshots go to
// tests/out/web (docs/ copies were made from them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startServer } from './mapd_server.mjs';
import { launch, openPage, outDir, waitIdle } from './web_browser.mjs';

let srv;
let browser;
const tok = {};
const cli = (...args) => execFileSync(process.env.MAPD_BIN, [args[0], args[1], '--db', srv.db, ...args.slice(2)],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
// Officer 张三 stands at Wangfujing; the cases are a few hundred metres away.
const HERE = { latitude: 39.9142, longitude: 116.4108 };
const SPOTS = [[116.4135, 39.9160], [116.4080, 39.9121], [116.4150, 39.9105], [116.4095, 39.9170], [116.4120, 39.9130]];

before(async () => {
  srv = await startServer();
  cli('unit', 'add', '--code', 'DC-HW', '--name', '东城区环卫中心', '--type', 'sanitation');
  cli('unit', 'add', '--code', 'DC-CG', '--name', '东城区城管执法队', '--type', 'urban_management');
  tok.centre = cli('token', 'add', '--role', 'centre');
  tok.zhang = cli('token', 'add', '--role', 'officer', '--unit', 'DC-HW', '--name', '张三');
  tok.wang = cli('token', 'add', '--role', 'officer', '--unit', 'DC-CG', '--name', '王五');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  assert.equal(await srv?.stop(), 0, 'mapd exits 0 on SIGTERM');
});

async function file(i, description) {
  const res = await fetch(`${srv.base}/api/v1/reports`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ category: '200102', lon: SPOTS[i][0], lat: SPOTS[i][1], description, address: `王府井大街${i + 1}号` }) });
  assert.equal(res.status, 201);
  return (await res.json()).id;
}
const history = async (id) => (await (await fetch(`${srv.base}/api/v1/reports/${id}/history`)).json()).history;

// In the centre page: open `action`'s form on report id, fill it, confirm,
// and wait for the list to show the new status.
async function act(page, id, action, to, fill = async () => {}) {
  const item = page.locator(`#live-list li[data-id="${id}"]`);
  await item.locator(`button[data-action="${action}"]`).click();
  const form = item.locator(`form[data-form="${action}"]`);
  await form.waitFor();
  await form.locator('textarea').fill(`${action} 备注 ${id}`);
  await fill(form);
  await form.locator(`button[data-confirm="${action}"]`).click();
  await page.waitForFunction(([rid, st]) => window.mapdApp.state.live.get(rid)?.report.status === st, [id, to], { timeout: 10000 });
}

test('the centre takes every transition with a note; the officer works the case on a phone', async () => {
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push(await file(i, `暴露垃圾 ${i + 1}`));
  const [a, b, c, d, e] = ids;

  const centre = await openPage(browser, srv.base, { viewport: { width: 1280, height: 860 } });
  const page = centre.page;
  await page.goto(`${srv.base}/?view=centre#token=${tok.centre}`);
  await page.locator(`#live-list li[data-id="${a}"]`).waitFor({ timeout: 15000 });
  await waitIdle(page);
  await page.evaluate(([lng, lat]) => window.map.jumpTo({ center: [lng, lat], zoom: 15 }), [HERE.longitude, HERE.latitude]);

  await act(page, a, 'accept', 'filed');
  await act(page, b, 'reject', 'rejected');
  await act(page, c, 'accept', 'filed');
  await act(page, d, 'accept', 'filed');
  // Dispatch a to 张三 of 东城区环卫中心: the unit select comes from /api/v1/units.
  const item = page.locator(`#live-list li[data-id="${a}"]`);
  await item.locator('button[data-action="dispatch"]').click();
  const form = item.locator('form[data-form="dispatch"]');
  await form.locator('select[name="unit"] option[value="DC-HW"]').waitFor({ state: 'attached' });
  await form.locator('select[name="unit"]').selectOption('DC-HW');
  await form.locator('select[name="officer"] option', { hasText: '张三' }).waitFor({ state: 'attached' });
  const officerId = await form.locator('select[name="officer"] option', { hasText: '张三' }).getAttribute('value');
  await form.locator('select[name="officer"]').selectOption(officerId);
  await form.locator('textarea').fill('派遣至东城区环卫中心张三');
  await page.screenshot({ path: join(outDir(), 'centre-dispatch.png') });
  await form.locator('button[data-confirm="dispatch"]').click();
  await page.waitForFunction((rid) => window.mapdApp.state.live.get(rid)?.report.status === 'dispatched', a, { timeout: 10000 });
  await act(page, c, 'dispatch', 'dispatched', (f) => f.locator('select[name="unit"]').selectOption('DC-HW'));
  await act(page, c, 'park', 'parked');
  await act(page, c, 'resume', 'dispatched');
  await act(page, e, 'merge', 'closed', (f) => f.locator('input[name="into"]').fill(String(d)));

  // The officer, on a phone, with their location.
  const phone = await openPage(browser, srv.base, {
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
    geolocation: HERE, permissions: ['geolocation'],
  });
  const op = phone.page;
  await op.goto(`${srv.base}/officer#token=${tok.zhang}`);
  await op.waitForFunction(() => document.querySelector('#cases')?.dataset.loaded, null, { timeout: 15000 });
  await op.waitForFunction(() => document.body.dataset.located === 'true' && document.body.dataset.ready === 'true', null, { timeout: 15000 });
  const listed = await op.locator('#cases li[data-id]').evaluateAll((els) => els.map((el) => Number(el.dataset.id)));
  assert.deepEqual(new Set(listed), new Set([a, c]), `张三's queue: ${listed}`);
  const due = await op.evaluate(() => window.officerApp.state.cases.map((x) => Date.parse(x.expected_at)));
  assert.deepEqual(due, [...due].sort((x, y) => x - y), 'by deadline');
  // The way: a straight line from here to the case, with its distance.
  await op.locator(`#cases li[data-id="${a}"] .name`).tap();
  await op.waitForFunction((rid) => window.officerApp.state.selected?.id === rid, a);
  await waitIdle(op);
  const dist = Number(await op.locator('#oway').getAttribute('data-distance'));
  const [lon, lat] = SPOTS[0];
  const expect = await op.evaluate(([p, q]) => window.officerApp.distanceM(p, q), [[HERE.longitude, HERE.latitude], [lon, lat]]);
  assert.ok(Math.abs(dist - expect) <= 1 && dist > 100 && dist < 1000, `distance ${dist} m`);
  assert.match(await op.locator('#oway').textContent(), /直线/);
  const line = await op.evaluate(() => window.officerApp.wayGeoJSON().features[0].geometry.coordinates);
  assert.deepEqual(line, [[HERE.longitude, HERE.latitude], [lon, lat]]);
  await op.waitForFunction(() => window.map.queryRenderedFeatures({ layers: ['way'] }).length > 0, null, { timeout: 10000 });
  await op.screenshot({ path: join(outDir(), 'officer-queue.png') });

  // Start, then report back (a note: photo upload is not on main yet).
  await op.locator(`#cases li[data-id="${a}"] button[data-action="start"]`).tap();
  await op.locator(`#cases li[data-id="${a}"] form textarea`).fill('已到场');
  await op.locator(`#cases li[data-id="${a}"] button[data-confirm="start"]`).tap();
  await op.locator(`#cases li[data-id="${a}"] button[data-action="report_back"]`).waitFor({ timeout: 10000 });
  await op.locator(`#cases li[data-id="${a}"] button[data-action="report_back"]`).tap();
  await op.locator(`#cases li[data-id="${a}"] form textarea`).fill('垃圾已清运');
  await op.locator(`#cases li[data-id="${a}"] button[data-confirm="report_back"]`).tap();
  await op.waitForFunction((rid) => !document.querySelector(`#cases li[data-id="${rid}"]`), a, { timeout: 10000 });

  // A patrol incident on the spot (巡查即录入), at the officer's position.
  await op.locator('#patrol-open').tap();
  await op.locator('#patrol-category option[value="200510"]').waitFor({ state: 'attached' });
  await op.locator('#patrol-category').selectOption('200510');
  await op.locator('#patrol-description').fill('路边露天烧烤');
  await op.screenshot({ path: join(outDir(), 'officer-patrol.png') });
  await op.locator('#patrol-form button[type="submit"]').tap();
  await op.waitForFunction(() => document.querySelector('#ostatus').dataset.filed, null, { timeout: 10000 });
  const incId = Number(await op.locator('#ostatus').getAttribute('data-filed'));
  const inc = await (await fetch(`${srv.base}/api/v1/reports/${incId}`)).json();
  assert.equal(inc.kind, 'incident');
  assert.equal(inc.channel, 'patrol');
  assert.ok(Math.abs(inc.lon - HERE.longitude) < 1e-6 && Math.abs(inc.lat - HERE.latitude) < 1e-6);

  // Back at the centre: the report-back arrives live; verify one, rework the other to 城管.
  await page.waitForFunction((rid) => window.mapdApp.state.live.get(rid)?.report.status === 'handled', a, { timeout: 10000 });
  await act(page, a, 'verify', 'closed');
  await page.screenshot({ path: join(outDir(), 'centre-workflow.png') });

  const steps = (await history(a)).map((s) => [s.action, s.note]);
  assert.deepEqual(steps.map((s) => s[0]), ['report', 'accept', 'dispatch', 'start', 'report_back', 'verify']);
  assert.equal(steps[2][1], '派遣至东城区环卫中心张三');
  assert.equal(steps[4][1], '垃圾已清运');
  assert.deepEqual((await history(c)).map((s) => s.action), ['report', 'accept', 'dispatch', 'park', 'resume']);
  const merged = await (await fetch(`${srv.base}/api/v1/reports/${e}`)).json();
  assert.equal(merged.merged_into, d);

  // Rework: a case reported back goes to another unit; only its officers see it then.
  const res = await fetch(`${srv.base}/api/v1/reports/${c}/transitions`, { method: 'POST',
    headers: { Authorization: `Bearer ${tok.zhang}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ action: 'start' }) });
  assert.equal(res.status, 200);
  await fetch(`${srv.base}/api/v1/reports/${c}/transitions`, { method: 'POST',
    headers: { Authorization: `Bearer ${tok.zhang}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ action: 'report_back', note: '处理完毕' }) });
  await page.waitForFunction((rid) => window.mapdApp.state.live.get(rid)?.report.status === 'handled', c, { timeout: 10000 });
  await act(page, c, 'rework', 'dispatched', (f) => f.locator('select[name="unit"]').selectOption('DC-CG'));
  assert.equal((await history(c)).at(-1).note, `rework 备注 ${c}`);
  const wang = await (await fetch(`${srv.base}/api/v1/officer/cases`, { headers: { Authorization: `Bearer ${tok.wang}` } })).json();
  assert.ok(wang.reports.some((r) => r.id === c), 'reworked to 城管: in 王五\'s queue');

  for (const p of [centre, phone]) {
    assert.deepEqual(p.log.blocked, [], 'no request left the test server');
    assert.deepEqual(p.log.errors, [], 'no console errors');
  }
  await centre.context.close();
  await phone.context.close();
});
