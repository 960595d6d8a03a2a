// The citizen's "Report a problem" flow and the command centre's live view in
// headless Chromium: the centre page (/?view=centre with a centre token)
// listens to /api/v1/events; a citizen places the pin with the browser's
// location, picks a category, chooses a photo through the file input (the
// phone's camera) and submits report and photo in one multipart request to
// the JSON API; the report is on the citizen's map within 2 s without a
// reload, arrives in the centre's live list and flashes on its map; the
// centre accepts it, and the photo shows in the report's popup. No request
// leaves the test server; no console errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './mapd_server.mjs';
import { launch, openPage, outDir, screenPoint, waitIdle } from './web_browser.mjs';

let srv;
let browser;
let token;

before(async () => {
  srv = await startServer();
  token = execFileSync(process.env.MAPD_BIN, ['token', 'add', '--db', srv.db, '--role', 'centre', '--label', 'web test'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  assert.match(token, /^\S{16,}$/);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  assert.equal(await srv?.stop(), 0, 'mapd exits 0 on SIGTERM');
});

// Wangfujing, Dongcheng: inside the sample city, dense with reports.
const HERE = { latitude: 39.9142, longitude: 116.4108 };

test('a report from the form is on the map at once and in the centre live list', async () => {
  // The command centre, listening.
  const centre = await openPage(browser, srv.base);
  await centre.page.goto(`${srv.base}/?view=centre#token=${token}`);
  await centre.page.waitForFunction(() => document.querySelector('#live-status')?.dataset.state === 'on',
    null, { timeout: 15000 });
  assert.doesNotMatch(await centre.page.evaluate(() => location.href), /token/, 'the token leaves the address bar');
  assert.equal(await centre.page.evaluate(() => sessionStorage.getItem('mapd.token')), token);
  await centre.page.locator('#live-list li[data-id]').first().waitFor({ timeout: 10000 });
  await waitIdle(centre.page);
  // Centre looks at the same place as the citizen, where the report will flash.
  await centre.page.evaluate(([lng, lat]) => window.map.jumpTo({ center: [lng, lat], zoom: 15 }),
    [HERE.longitude, HERE.latitude]);

  // A citizen on a phone, sharing their location.
  const citizen = await openPage(browser, srv.base, {
    viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true,
    geolocation: HERE, permissions: ['geolocation'],
  });
  const { page } = citizen;
  await page.goto(`${srv.base}/?lang=en#map=15/39.9100/116.4000`);
  await waitIdle(page);
  await page.locator('.tab[data-panel="report"]').tap();
  // Categories grouped by 大类, Chinese and English.
  await page.locator('#report-category optgroup').first().waitFor({ state: 'attached', timeout: 10000 });
  const groups = await page.locator('#report-category optgroup').evaluateAll((gs) => gs.map((g) => g.label));
  assert.ok(groups.length >= 5, `groups: ${groups}`);
  assert.ok(groups.some((g) => g.includes('市容环境') && g.includes('City appearance')), `groups: ${groups}`);
  const opt = await page.locator('#report-category option[value="200102"]').textContent();
  assert.ok(opt.includes('暴露垃圾') && opt.includes('Exposed rubbish'), opt);
  // The pin goes to the browser's location.
  await page.locator('#report-locate').tap();
  await page.waitForFunction(([lng, lat]) => {
    const p = window.mapdApp.state.pin;
    return p && Math.abs(p.lng - lng) < 1e-6 && Math.abs(p.lat - lat) < 1e-6;
  }, [HERE.longitude, HERE.latitude], { timeout: 10000 });
  await page.waitForFunction(() => !window.map.isMoving(), null, { timeout: 10000 });
  await page.locator('#report-category').selectOption('200102');
  await page.locator('#report-description').fill('Rubbish bags left by the bus stop 公交站旁堆放垃圾袋');
  // A photo through the form's file input (the phone's camera), with GPS in its EXIF.
  const photoDir = mkdtempSync(join(tmpdir(), 'mapd-photo-'));
  const photoPath = join(photoDir, 'camera.jpg');
  // A colourful test picture (so the screenshots show it), then a phone's EXIF.
  execFileSync('vips', ['sines', join(photoDir, 'sines.v'), '640', '480', '--hfreq', '2', '--vfreq', '1']);
  execFileSync('vips', ['linear', join(photoDir, 'sines.v'), join(photoDir, 'grey.v'), '127', '128', '--uchar']);
  execFileSync('vips', ['falsecolour', join(photoDir, 'grey.v'), photoPath]);
  execFileSync('exiftool', ['-q', '-overwrite_original', '-GPSLatitude=39.9142', '-GPSLatitudeRef=N',
    '-GPSLongitude=116.4108', '-GPSLongitudeRef=E', '-Make=TestPhone', photoPath]);
  await page.locator('#report-photo').setInputFiles(photoPath);
  // The chosen photo is previewed in the form.
  await page.waitForFunction(() => {
    const img = document.querySelector('#report-photo-preview');
    return img && !img.hidden && img.complete && img.naturalWidth === 640;
  }, null, { timeout: 5000 });
  assert.equal(await page.locator('#report-photo').getAttribute('capture'), 'environment', 'the phone offers its camera');
  await page.locator('#report-photo-preview').scrollIntoViewIfNeeded();
  const formShot = join(outDir(), 'report-photo-form.png');
  await page.screenshot({ path: formShot });
  // One request: the report and its photo together (multipart), no upload after it.
  const photoUploads = [];
  page.on('request', (r) => { if (/\/api\/v1\/reports\/\d+\/photos$/.test(r.url())) photoUploads.push(r.url()); });
  const [created] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/reports') && r.request().method() === 'POST'),
    page.locator('#report-submit').tap(),
  ]);
  assert.equal(created.status(), 201, await created.text());
  assert.match(created.request().headers()['content-type'], /^multipart\/form-data; boundary=/);
  const sentParts = created.request().postDataBuffer().toString('latin1');
  assert.match(sentParts, /name="report"\r\n\r\n\{"category":"200102"/);
  assert.match(sentParts, /name="photo"; filename="camera\.jpg"/);
  const createdJson = await created.json();
  assert.equal(createdJson.photos?.length, 1, 'the photo arrived with the create');
  const photo = createdJson.photos[0];
  assert.equal(photo.width, 640);
  await page.locator(`#report-result .photo-note[data-photo-id="${photo.id}"]`).waitFor({ timeout: 5000 });
  assert.equal(await page.locator('#report-photo').evaluate((i) => i.files.length), 0, 'the form forgets the sent photo');
  assert.equal((await fetch(srv.base + photo.url)).status, 404, 'not public before the centre accepts');
  const sentAt = Date.now();
  const report = createdJson;
  const id = report.id;
  assert.ok(Number.isInteger(id));
  assert.equal(report.lon.toFixed(6), HERE.longitude.toFixed(6));
  // The answer: the id (and the duplicates hint) in the panel.
  await page.locator(`#report-result [data-report-id="${id}"]`).waitFor({ timeout: 5000 });
  assert.match(await page.locator('#report-result').textContent(), new RegExp(`#${id}`));
  // On the map without a reload (the time is logged; the 2 s target is measured
  // in bench/, not asserted here, where a loaded machine would make it flaky).
  const navigations = await page.evaluate(() => performance.getEntriesByType('navigation').length);
  await page.waitForFunction((rid) => window.map.queryRenderedFeatures({ layers: ['reports-point'] })
    .some((f) => f.id === rid && f.properties.status === 'reported'), id, { timeout: 20000, polling: 50 });
  const visibleAfter = Date.now() - sentAt;
  console.log(`# report drawn ${visibleAfter} ms after it was sent`);
  assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), navigations);
  await page.screenshot({ path: join(outDir(), 'phone-report.png') });

  // A second report at the same place names the first as a nearby duplicate.
  await page.locator('#report-category').selectOption('200102');
  const [second] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/reports') && r.request().method() === 'POST'),
    page.locator('#report-submit').tap(),
  ]);
  assert.equal(second.status(), 201);
  await page.locator(`#report-result .duplicates li[data-id="${id}"]`).waitFor({ timeout: 5000 });
  // The hint offers "me too" (once per device: this browser's token).
  const meToo = page.locator(`#report-result .duplicates button[data-support="${id}"]`);
  assert.match(await meToo.textContent(), /Me too \(0\)/);
  const [supported] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/api/v1/reports/${id}/supporters`)),
    meToo.tap(),
  ]);
  assert.equal(supported.status(), 201);
  await page.waitForFunction((rid) => document.querySelector(`button[data-support="${rid}"]`)?.textContent === 'Supported (1)',
    id, { timeout: 5000 });
  assert.equal((await (await fetch(`${srv.base}/api/v1/reports/${id}`)).json()).supporters, 1);
  const device = await page.evaluate(() => localStorage.getItem('mapd.device'));
  const again = await fetch(`${srv.base}/api/v1/reports/${id}/supporters`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ device }) });
  assert.equal(again.status, 409, 'the same device cannot support twice');

  // The centre sees it arrive live, flashing, and accepts it (立案).
  const item = centre.page.locator(`#live-list li[data-id="${id}"]`);
  await item.waitFor({ timeout: 5000 });
  assert.match(await item.getAttribute('class'), /fresh/);
  assert.ok(await centre.page.locator('.flash').count() >= 1, 'the new report flashes on the centre map');
  await centre.page.screenshot({ path: join(outDir(), 'centre-live.png') });
  await item.locator('button[data-action="accept"]').click();
  await item.locator('form[data-form="accept"] textarea').fill('立案：属实');
  await item.locator('button[data-confirm="accept"]').click();
  await centre.page.waitForFunction((rid) => window.mapdApp.state.live.get(rid)?.report.status === 'filed',
    id, { timeout: 5000 });
  const history = await (await fetch(`${srv.base}/api/v1/reports/${id}/history`)).json();
  assert.deepEqual(history.history.map((s) => s.action), ['report', 'photo', 'accept']);
  assert.equal(history.history[2].note, '立案：属实', 'the note goes with the step');
  const shown = await fetch(srv.base + photo.url);
  assert.equal(shown.status, 200, 'public once accepted');
  assert.equal(shown.headers.get('content-type'), 'image/jpeg');
  const served = join(photoDir, 'served.jpg');
  (await import('node:fs')).writeFileSync(served, Buffer.from(await shown.arrayBuffer()));
  assert.equal(execFileSync('exiftool', ['-s', '-s', '-s', '-GPS:all', '-Make', served], { encoding: 'utf8' }), '',
    'no GPS or device in what is served');
  // The citizen's popup for the report shows category, status and history.
  await page.locator('#panel-close').tap();
  await page.evaluate(([lng, lat]) => window.map.jumpTo({ center: [lng, lat], zoom: 17 }), [report.lon, report.lat]);
  await waitIdle(page);
  const at = await screenPoint(page, [report.lon, report.lat]);
  await page.touchscreen.tap(at.x, at.y);
  // Both reports sit on the same point: whichever is on top answers.
  const popup = page.locator('.maplibregl-popup .popup[data-report-id]');
  await popup.waitFor({ timeout: 5000 });
  const rid = Number(await popup.getAttribute('data-report-id'));
  assert.ok([id, (await second.json()).id].includes(rid), `popup for report ${rid}`);
  const steps = (await (await fetch(`${srv.base}/api/v1/reports/${rid}/history`)).json()).history;
  await page.waitForFunction((n) => document.querySelectorAll('.maplibregl-popup ol li').length === n,
    steps.length, { timeout: 5000 });
  const text = await popup.textContent();
  assert.match(text, /Exposed rubbish/);
  assert.match(text, rid === id ? /Filed/ : /Reported/);
  if (rid === id) await popup.locator(`.photos img[src="${photo.thumb_url}"]`).waitFor({ timeout: 5000 });
  await page.screenshot({ path: join(outDir(), 'phone-report-popup.png') });
  // The accepted report with its photo, for docs/report-photo.png (the form
  // with the photo chosen beside it).
  await page.evaluate(([rid, lng, lat]) => {
    document.querySelectorAll('.maplibregl-popup').forEach((p) => p.remove());
    window.map.easeTo({ center: [lng, lat], offset: [0, -260], duration: 0 });
    window.mapdApp.showReport(rid, { category: '200102' }, [lng, lat]);
  }, [id, report.lon, report.lat]);
  await page.waitForFunction((u) => [...document.querySelectorAll('.maplibregl-popup .photos img')]
    .some((img) => img.getAttribute('src') === u && img.complete && img.naturalWidth > 0), photo.thumb_url, { timeout: 5000 });
  await page.waitForFunction(() => document.querySelectorAll('.maplibregl-popup ol li').length >= 3, null, { timeout: 5000 });
  const acceptedShot = join(outDir(), 'report-photo-accepted.png');
  await page.screenshot({ path: acceptedShot });
  execFileSync('vips', ['arrayjoin', `${formShot} ${acceptedShot}`, join(outDir(), 'report-photo.png'), '--shim', '16', '--background', '255']);

  for (const p of [centre, citizen]) {
    assert.deepEqual(p.log.blocked, [], 'no request left the test server');
    assert.deepEqual(p.log.errors, [], 'no console errors');
  }
  await centre.context.close();
  await citizen.context.close();
});

test('a citizen adds a facility missing from the map (900004); accepted, it is on the map', async () => {
  const { page, log, context } = await openPage(browser, srv.base);
  await page.goto(`${srv.base}/#map=17/39.9160/116.4120`);
  await waitIdle(page);
  await page.locator('.tab[data-panel="report"]').click();
  await page.locator('#report-category option[value="900004"]').waitFor({ state: 'attached', timeout: 10000 });
  assert.ok(await page.locator('#report-facility').isHidden(), 'facility fields only for 900004');
  await page.locator('#report-category').selectOption('900004');
  await page.locator('#report-facility').waitFor({ state: 'visible', timeout: 2000 });
  // Submitting without a name is stopped in the page.
  await page.locator('#report-submit').click();
  assert.match(await page.locator('#report-result').textContent(), /请填写设施名称/);
  await page.locator('#report-fac-name').fill('王府井社区早餐车');
  await page.locator('#report-fac-category').selectOption('breakfast');
  await page.locator('#report-fac-hours').fill('06:30-09:30');
  await page.locator('#report-description').fill('每天早上在这里，地图上没有');
  await page.screenshot({ path: join(outDir(), 'desktop-missing-facility.png') });
  const [created] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/reports') && r.request().method() === 'POST'),
    page.locator('#report-submit').click(),
  ]);
  assert.equal(created.status(), 201, await created.text());
  const { id, lon, lat } = await created.json();
  const rep = await (await fetch(`${srv.base}/api/v1/reports/${id}`)).json();
  assert.equal(rep.kind, 'correction');
  assert.deepEqual(rep.proposed_change, { name: '王府井社区早餐车', category: 'breakfast', opening_hours: '06:30-09:30' });
  // The centre accepts it: the facility exists, and the map draws it.
  const acc = await fetch(`${srv.base}/api/v1/reports/${id}/transitions`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ action: 'accept', note: '核实存在' }),
  });
  assert.equal(acc.status, 200, await acc.text());
  const near = await (await fetch(`${srv.base}/api/v1/nearest?category=breakfast&k=1&lon=${lon}&lat=${lat}`)).json();
  assert.equal(near.features[0].properties.name, '王府井社区早餐车');
  const fid = near.features[0].id;
  await page.evaluate(() => window.mapdApp.refreshTiles());
  await page.evaluate(([lng, la]) => window.map.jumpTo({ center: [lng, la], zoom: 18 }), [lon, lat]);
  await page.waitForFunction((f) => window.map.queryRenderedFeatures({ layers: ['facilities-point'] })
    .some((x) => x.id === f), fid, { timeout: 10000 });
  assert.deepEqual(log.blocked, [], 'no request left the test server');
  assert.deepEqual(log.errors, [], 'no console errors');
  await context.close();
});

test('centre view without a token asks for one', async () => {
  const { page, log, context } = await openPage(browser, srv.base);
  await page.goto(`${srv.base}/?view=centre`);
  await page.locator('#token-form').waitFor({ timeout: 5000 });
  assert.equal(await page.locator('#live-status').getAttribute('data-state'), 'off');
  await page.locator('#token-input').fill(token);
  await page.locator('#token-form button').click();
  await page.waitForFunction(() => document.querySelector('#live-status').dataset.state === 'on', null, { timeout: 15000 });
  // Overdue filter: every listed case is overdue and highlighted.
  await page.locator('#live-overdue').check();
  await page.waitForFunction(() => {
    const lis = [...document.querySelectorAll('#live-list li')];
    return lis.length > 0 && lis.every((li) => li.classList.contains('overdue'));
  }, null, { timeout: 10000 });
  const cls = await page.locator('#live-list li').evaluateAll((lis) => lis.map((li) => li.className));
  assert.ok(cls.every((c) => c.includes('overdue')), `overdue items: ${cls.slice(0, 5)}`);
  await page.screenshot({ path: join(outDir(), 'centre-overdue.png') });
  assert.deepEqual(log.blocked, []);
  assert.deepEqual(log.errors, []);
  await context.close();
});
