// The web map at GET / in headless Chromium over the sample city: static
// serving and page security headers, glyph PBFs, rendered layers (districts,
// facility and report clusters, labels), cluster and facility clicks, layer
// toggles, the language switch, "what's near me", desktop and phone layouts
// with screenshots. No request may leave the test server; no console errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Pbf from 'pbf';
import { startServer } from './mapd_server.mjs';
import { launch, openPage, outDir, screenPoint, waitIdle } from './web_browser.mjs';

let srv;
let browser;

before(async () => {
  srv = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  assert.equal(await srv?.stop(), 0, 'mapd exits 0 on SIGTERM');
});

// ---- HTTP: files, headers, glyphs ------------------------------------------------

test('GET / is the page with its security headers', async () => {
  const r = await fetch(`${srv.base}/`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /worker-src 'self' blob:/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-(inline|eval)/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
  const html = await r.text();
  assert.match(html, /\/web\/app\.js/);
  assert.doesNotMatch(html, /https?:\/\//, 'the page names no outside URL');
  // ETag revalidation.
  const again = await fetch(`${srv.base}/`, { headers: { 'If-None-Match': r.headers.get('etag') } });
  assert.equal(again.status, 304);
});

test('web files: types, gzip, MapLibre from node_modules, nothing else', async () => {
  const js = await fetch(`${srv.base}/web/app.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  const gz = await fetch(`${srv.base}/web/vendor/maplibre-gl.mjs`, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(gz.status, 200);
  assert.equal(gz.headers.get('content-encoding'), 'gzip');
  assert.match(gz.headers.get('cache-control'), /max-age=/);
  const css = await fetch(`${srv.base}/web/vendor/maplibre-gl.css`);
  assert.match(css.headers.get('content-type'), /^text\/css/);
  for (const bad of ['/web/vendor/../package.json', '/web/package.json', '/web/node_modules/maplibre-gl/package.json',
    '/web/.hidden', '/web/vendor/evil.js', '/web/app.exe', '/web//app.js', '/web/%2e%2e/README.md',
    '/web/..%2fREADME.md']) {
    const r = await fetch(`${srv.base}${bad}`);
    assert.ok(r.status === 404 || r.status === 400, `${bad} -> ${r.status}`);
    assert.match(r.headers.get('content-type'), /^application\/json/);
  }
  const head = await fetch(`${srv.base}/web/app.css`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  const post = await fetch(`${srv.base}/web/app.css`, { method: 'POST' });
  assert.equal(post.status, 405);
});

// glyphs.proto read with pbf: fontstack{name=1, range=2, glyphs=3{id=1, bitmap=2,
// width=3, height=4, left=5 (sint), top=6 (sint), advance=7}}.
function readGlyphs(buf) {
  const stacks = [];
  new Pbf(buf).readFields((tag, acc, pbf) => {
    if (tag !== 1) return;
    const stack = { glyphs: [] };
    pbf.readMessage((t, s, p) => {
      if (t === 1) s.name = p.readString();
      else if (t === 2) s.range = p.readString();
      else if (t === 3) {
        const g = {};
        p.readMessage((gt, gg, gp) => {
          if (gt === 1) gg.id = gp.readVarint();
          else if (gt === 2) gg.bitmap = gp.readBytes();
          else if (gt === 3) gg.width = gp.readVarint();
          else if (gt === 4) gg.height = gp.readVarint();
          else if (gt === 5) gg.left = gp.readSVarint();
          else if (gt === 6) gg.top = gp.readSVarint();
          else if (gt === 7) gg.advance = gp.readVarint();
        }, g);
        s.glyphs.push(g);
      }
    }, stack);
    acc.push(stack);
  }, stacks);
  return stacks;
}

test('glyph PBFs for Latin and CJK ranges; bad requests are 400 JSON', async () => {
  const r = await fetch(`${srv.base}/fonts/Noto%20Sans%20Regular/0-255.pbf`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/x-protobuf');
  const stacks = readGlyphs(new Uint8Array(await r.arrayBuffer()));
  assert.equal(stacks.length, 1);
  assert.equal(stacks[0].name, 'Noto Sans Regular');
  assert.equal(stacks[0].range, '0-255');
  const a = stacks[0].glyphs.find((g) => g.id === 65);
  assert.ok(a.width > 8 && a.height > 10 && a.advance > 8, JSON.stringify(a));
  assert.equal(a.bitmap.length, (a.width + 6) * (a.height + 6));
  // 北 (U+5317), in 北京, with gzip.
  const cjk = await fetch(`${srv.base}/fonts/Noto%20Sans%20Regular/21248-21503.pbf`, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(cjk.status, 200);
  const bei = readGlyphs(new Uint8Array(await cjk.arrayBuffer()))[0].glyphs.find((g) => g.id === 0x5317);
  assert.ok(bei && bei.advance === 24 && bei.width > 15, JSON.stringify(bei && { ...bei, bitmap: undefined }));
  for (const bad of ['/fonts/Noto%20Sans%20Regular/1-256.pbf', '/fonts/Noto%20Sans%20Regular/0-511.pbf',
    '/fonts/Noto%20Sans%20Regular/65536-65791.pbf', '/fonts/Noto%20Sans%20Regular/0-255.png',
    '/fonts/a%3Cb/0-255.pbf', '/fonts/0-255.pbf']) {
    const e = await fetch(`${srv.base}${bad}`);
    assert.equal(e.status, 400, bad);
    const j = await e.json();
    assert.equal(j.error.code, 'invalid_argument', bad);
  }
});

// ---- the page in Chromium ------------------------------------------------------------

function rendered(page, layers) {
  return page.evaluate((ls) => Object.fromEntries(ls.map((l) => [l, window.map.queryRenderedFeatures({ layers: [l] }).length])), layers);
}

test('desktop: layers render, clusters zoom in, a facility shows its name', async () => {
  const { page, log, context } = await openPage(browser, srv.base);
  await page.goto(`${srv.base}/`);
  await waitIdle(page);
  const n = await rendered(page, ['districts-fill', 'districts-line', 'districts-label', 'facilities-cluster',
    'reports-cluster']);
  assert.ok(n['districts-fill'] > 0, `districts ${JSON.stringify(n)}`);
  assert.ok(n['districts-label'] > 0, 'district names are drawn (glyphs served)');
  assert.ok(n['facilities-cluster'] > 10, `facility clusters ${JSON.stringify(n)}`);
  assert.ok(n['reports-cluster'] > 10, `report clusters ${JSON.stringify(n)}`);
  assert.ok(await page.evaluate(() => window.map.getLayoutProperty('facilities-cluster', 'text-field')), 'clusters carry their counts');
  // Legend and toggles come from the style; facility names from the
  // facility_categories table (/api/v1/facility-categories).
  assert.ok(await page.locator('#legend-facilities li').count() >= 7);
  assert.match(await page.locator('#legend-facilities li[data-code="toilet"]').textContent(), /公共厕所/);
  assert.ok(await page.locator('#nearby-category option[value="kiosk"]').count() === 1);
  assert.ok(await page.locator('#legend-reports li').count() >= 8);

  // Click a cluster well inside the map (right of the panel): the map zooms in.
  const z0 = await page.evaluate(() => window.map.getZoom());
  const target = await page.evaluate(() => {
    const m = window.map;
    const c = m.getContainer().getBoundingClientRect();
    const fs = m.queryRenderedFeatures({ layers: ['facilities-cluster'] })
      .map((f) => ({ f, p: m.project(f.geometry.coordinates) }))
      .filter(({ p }) => p.x > 500 && p.x < c.width - 80 && p.y > 80 && p.y < c.height - 80);
    const { f, p } = fs[0];
    return { x: c.left + p.x, y: c.top + p.y, count: f.properties.point_count };
  });
  await page.mouse.click(target.x, target.y);
  await page.waitForFunction((z) => window.map.getZoom() >= z + 1.5 && !window.map.isMoving(), z0, { timeout: 10000 });
  await waitIdle(page);

  // A facility: the nearest toilet to Tiananmen, drawn as a point at z17.
  const near = await (await fetch(`${srv.base}/api/v1/nearest?lon=116.3975&lat=39.9087&category=toilet&k=1`)).json();
  const toilet = near.features[0];
  await page.evaluate((c) => window.map.jumpTo({ center: c, zoom: 17 }), toilet.geometry.coordinates);
  await waitIdle(page);
  // Icons collide (the style's rule: no overlapping icons at any zoom), so
  // the toilet may yield to a neighbour placed before it: take it when it
  // is drawn, else the facility drawn nearest to it, which must be close.
  // Polled: icons of a freshly loaded tile are placed over a few frames.
  const drawnId = await page.waitForFunction((id) => {
    const m = window.map;
    const c = m.project(m.getCenter());
    const fs = m.queryRenderedFeatures({ layers: ['facilities-point'] }).map((f) => {
      const p = m.project(f.geometry.coordinates);
      return { id: f.id, d: Math.hypot(p.x - c.x, p.y - c.y) };
    });
    const own = fs.find((f) => f.id === id);
    const best = own || fs.sort((a, b) => a.d - b.d)[0];
    return best && best.d < 80 ? best.id : null;
  }, toilet.id, { timeout: 10000 }).then((h) => h.jsonValue(), () => null);
  assert.ok(drawnId !== null, `facility ${toilet.id} or a neighbour within 80 px is drawn at z17`);
  const fac = await (await fetch(`${srv.base}/ogc/collections/facilities/items/${drawnId}?f=json`)).json();
  const pt = await screenPoint(page, fac.geometry.coordinates);
  await page.mouse.click(pt.x, pt.y);
  const popup = page.locator('.maplibregl-popup .popup');
  await popup.waitFor({ timeout: 5000 });
  assert.equal(await popup.getAttribute('data-facility-id'), String(fac.id));
  await page.waitForFunction((name) => document.querySelector('.maplibregl-popup h4')?.textContent === name,
    fac.properties.name, { timeout: 5000 });
  await page.screenshot({ path: join(outDir(), 'desktop-facility.png') });

  // Layer toggles hide and show layer groups.
  await page.locator('#toggles input[data-group="facilities"]').uncheck();
  assert.equal(await page.evaluate(() => window.map.getLayoutProperty('facilities-point', 'visibility')), 'none');
  await page.locator('#toggles input[data-group="facilities"]').check();
  assert.equal(await page.evaluate(() => window.map.getLayoutProperty('facilities-point', 'visibility')), 'visible');

  // Language switch: UI text and district labels.
  const zh = await page.locator('.tab[data-panel="report"]').textContent();
  await page.locator('#lang').click();
  const en = await page.locator('.tab[data-panel="report"]').textContent();
  assert.notEqual(zh, en);
  assert.ok([zh, en].includes('上报问题') && [zh, en].includes('Report a problem'), `${zh} / ${en}`);

  // What's near me: nearest toilets from the map centre, nearest first.
  await page.locator('.tab[data-panel="nearby"]').click();
  await page.locator('#nearby-category').selectOption('toilet');
  await page.locator('#nearby-list li[data-id]').first().waitFor({ timeout: 5000 });
  const dists = await page.locator('#nearby-list .dist').allTextContents();
  assert.ok(dists.length >= 5, `nearby list ${dists}`);

  // Home view for the screenshot, layers panel open.
  await page.locator('.tab[data-panel="layers"]').click();
  await page.evaluate(() => { window.map.getCanvas(); window.map.jumpTo({ center: [116.397, 39.909], zoom: 12.5 }); });
  await waitIdle(page);
  await page.screenshot({ path: join(outDir(), 'desktop.png') });

  assert.deepEqual(log.blocked, [], 'no request left the test server');
  assert.deepEqual(log.errors, [], 'no console errors');
  assert.ok(log.requests.some((u) => u.includes('/fonts/')), 'glyphs came from mapd');
  await context.close();
});

test('phone: 360x740 layout, bottom sheet, touch tap on a cluster', async () => {
  const { page, log, context } = await openPage(browser, srv.base, {
    viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2,
  });
  await page.goto(`${srv.base}/`);
  await waitIdle(page);
  assert.equal(await page.locator('#panel').isHidden(), true, 'the map is not covered on a phone');
  const n = await rendered(page, ['districts-fill', 'facilities-cluster']);
  assert.ok(n['districts-fill'] > 0 && n['facilities-cluster'] > 0, JSON.stringify(n));
  // Every tab fits on screen.
  for (const tab of await page.locator('.tab:visible').all()) {
    const b = await tab.boundingBox();
    assert.ok(b.x >= 0 && b.x + b.width <= 360, `tab at ${JSON.stringify(b)}`);
  }
  await page.screenshot({ path: join(outDir(), 'phone.png') });
  await page.locator('.tab[data-panel="layers"]').tap();
  const sheet = await page.locator('#panel').boundingBox();
  assert.ok(sheet.width >= 359 && sheet.y > 300, `bottom sheet ${JSON.stringify(sheet)}`);
  await page.screenshot({ path: join(outDir(), 'phone-layers.png') });
  await page.locator('#panel-close').tap();
  const z0 = await page.evaluate(() => window.map.getZoom());
  const target = await page.evaluate(() => {
    const m = window.map;
    const c = m.getContainer().getBoundingClientRect();
    const { p } = m.queryRenderedFeatures({ layers: ['facilities-cluster', 'reports-cluster'] })
      .map((f) => ({ f, p: m.project(f.geometry.coordinates) }))
      .filter(({ p: q }) => q.x > 60 && q.x < c.width - 60 && q.y > 60 && q.y < c.height - 120)[0];
    return { x: c.left + p.x, y: c.top + p.y };
  });
  await page.touchscreen.tap(target.x, target.y);
  await page.waitForFunction((z) => window.map.getZoom() >= z + 1.5 && !window.map.isMoving(), z0, { timeout: 10000 });
  assert.deepEqual(log.blocked, []);
  assert.deepEqual(log.errors, []);
  await context.close();
});
