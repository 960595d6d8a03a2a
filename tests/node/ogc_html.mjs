// OGC API - Features for browsers and for CRS-aware clients (api/ogc_html.c,
// api/ogc.c), against a real server over a copy of the sample DB:
//  - HTML when a browser asks (its full Accept header, or f=html) for the
//    landing page, conformance, collections, a collection, items and an item:
//    HTML5 that parse5 reads without a parse error, every element closed,
//    every text escaped, the expected content and a link to the JSON form;
//    JSON stays the default for API clients (application/json, */*, none);
//    Vary: Accept on both.
//  - Part 2 CRS: the same feature in CRS84 (lon,lat) and EPSG:4326 (lat,lon),
//    points and polygons; Content-Crs on items and item; bbox-crs EPSG:4326
//    read lat,lon; an unknown CRS URI is a 400 naming it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parse } from 'parse5';
import { startServer } from './mapd_server.mjs';

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';
const EPSG4326 = 'http://www.opengis.net/def/crs/EPSG/0/4326';
const NASTY = `<script>alert("x&y")</script> 'q' <b>bold</b> &amp;`;

let srv, nastyId;
before(async () => {
  srv = await startServer(['--rate-limit', '0']);
  const r = await fetch(`${srv.base}/api/v1/reports`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ category: '200501', lon: 116.4033, lat: 39.9139, description: NASTY }),
  });
  assert.equal(r.status, 201, await r.clone().text());
  nastyId = (await r.json()).id;
});
after(async () => { await srv.stop(); });

async function get(path, accept) {
  const res = await fetch(srv.base + path, accept ? { headers: { Accept: accept } } : {});
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') || '', headers: res.headers, text };
}

// ---- HTML checks, independent of the server's writer

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta',
  'source', 'track', 'wbr']);

// Well-formed: parse5 reports no parse error, and (stricter than HTML5
// requires) every non-void element is closed in order, text holds no raw
// '<' or '>' and every '&' starts a character reference.
function wellFormed(html) {
  const errors = [];
  const doc = parse(html, { onParseError: (e) => errors.push(`${e.code} at ${e.startLine}:${e.startCol}`) });
  assert.deepEqual(errors, [], 'parse5 parse errors');
  assert.match(html, /^<!DOCTYPE html>\n/);
  const body = html.slice('<!DOCTYPE html>\n'.length);
  const stack = [];
  const tag = /<(\/?)([a-z][a-z0-9]*)((?:\s+[a-z-]+(?:="[^"<>]*")?)*)\s*>/g;
  let last = 0, m;
  const checkText = (t, where) => {
    assert.ok(!/[<>]/.test(t), `raw markup in text near ${where}: ${t.slice(0, 80)}`);
    for (const amp of t.matchAll(/&/g)) {
      assert.match(t.slice(amp.index), /^&(?:amp|lt|gt|quot|apos|#\d+);/, `bare & near ${where}`);
    }
  };
  while ((m = tag.exec(body))) {
    checkText(body.slice(last, m.index), m.index);
    for (const v of m[3].matchAll(/="([^"]*)"/g)) checkText(v[1], m.index);
    last = tag.lastIndex;
    const name = m[2];
    if (m[1]) {
      assert.equal(stack.pop(), name, `</${name}> closes another element at ${m.index}`);
    } else if (!VOID.has(name)) {
      stack.push(name);
    }
  }
  checkText(body.slice(last), 'end');
  assert.deepEqual(stack, [], 'elements left open');
  return doc;
}

function* walk(node) {
  yield node;
  for (const c of node.childNodes || []) yield* walk(c);
  if (node.content) yield* walk(node.content);
}
const els = (doc, name) => [...walk(doc)].filter((n) => n.tagName === name);
const attr = (n, k) => (n.attrs.find((a) => a.name === k) || {}).value;
const text = (n) => [...walk(n)].filter((x) => x.nodeName === '#text').map((x) => x.value).join('');
const hrefs = (doc) => els(doc, 'a').map((a) => attr(a, 'href'));

async function html(path, how = 'accept') {
  const r = how === 'accept' ? await get(path, BROWSER)
    : await get(path + (path.includes('?') ? '&' : '?') + 'f=html');
  assert.equal(r.status, 200, `${path}: ${r.text.slice(0, 200)}`);
  assert.equal(r.type, 'text/html; charset=utf-8', path);
  assert.match(r.headers.get('vary') || '', /\bAccept\b/, `${path}: Vary`);
  const doc = wellFormed(r.text);
  assert.equal(els(doc, 'title').length, 1);
  // This page (self) and its JSON form (alternate, with the JSON's media type),
  // also as a <link> in the head.
  const alt = els(doc, 'a').find((a) => attr(a, 'rel') === 'alternate' && /json/.test(attr(a, 'type')));
  assert.ok(alt, `${path}: link to the JSON form`);
  const u = new URL(attr(alt, 'href'));
  assert.equal(u.searchParams.get('f'), 'json');
  assert.equal(u.pathname, new URL(srv.base + path).pathname);
  const j = await get(u.pathname + u.search);
  assert.equal(j.status, 200);
  assert.equal(j.type, attr(alt, 'type'), `${path}: the alternate's type is the JSON's`);
  const headLink = els(els(doc, 'head')[0], 'link').find((l) => attr(l, 'rel') === 'alternate');
  assert.equal(attr(headLink, 'href'), attr(alt, 'href'));
  const self = els(doc, 'a').find((a) => attr(a, 'rel') === 'self');
  assert.equal(attr(self, 'type'), 'text/html');
  const su = new URL(attr(self, 'href'));
  assert.equal(su.searchParams.get('f'), 'html');
  for (const [k, v] of new URL(srv.base + path).searchParams) assert.equal(su.searchParams.get(k), v, `self keeps ${k}`);
  return { doc, raw: r.text, json: JSON.parse(j.text) };
}

test('JSON stays the default for API clients; a browser gets HTML', async () => {
  for (const path of ['/ogc', '/ogc/collections', '/ogc/collections/facilities/items?limit=1']) {
    for (const accept of [undefined, 'application/json', '*/*', 'application/geo+json, */*;q=0.5',
      'application/json, text/html']) {
      const r = await get(path, accept);
      assert.equal(r.status, 200);
      assert.match(r.type, /^application\/(geo\+)?json/, `${path} with Accept ${accept}`);
      JSON.parse(r.text);
      assert.match(r.headers.get('vary') || '', /\bAccept\b/, `${path}: Vary`);
    }
    for (const accept of [BROWSER, 'text/html', 'text/html;q=0.9, */*;q=0.1']) {
      const r = await get(path, accept);
      assert.equal(r.type, 'text/html; charset=utf-8', `${path} with Accept ${accept}`);
    }
    const forced = await get(path + (path.includes('?') ? '&' : '?') + 'f=json', BROWSER);
    assert.match(forced.type, /json/, 'f=json wins over Accept');
  }
  // The JSON answers link to their HTML form.
  const landing = JSON.parse((await get('/ogc')).text);
  const alt = landing.links.find((l) => l.rel === 'alternate' && l.type === 'text/html');
  assert.ok(alt && new URL(alt.href).searchParams.get('f') === 'html');
});

test('f=html is listed where f is accepted; JSON-only resources refuse it', async () => {
  const api = JSON.parse((await get('/ogc/api')).text);
  assert.ok(api.components.parameters.f.schema.enum.includes('html'));
  assert.ok(api.paths['/collections/{collectionId}/items'].get.parameters
    .some((p) => p.$ref === '#/components/parameters/f'));
  for (const path of ['/ogc/collections/reports/queryables?f=html', '/ogc/collections/reports/schema?f=html',
    '/ogc?f=xml']) {
    const r = await get(path);
    assert.equal(r.status, 400, path);
    assert.ok(JSON.parse(r.text).error.message.length > 0);
  }
  // A client asking for the OpenAPI document as GDAL does gets JSON.
  const gdal = 'application/vnd.oai.openapi+json;version=3.0, application/openapi+json;version=3.0, application/json';
  assert.match((await get('/ogc/api', gdal)).type, /openapi\+json/);
  assert.match((await get('/ogc/api')).type, /openapi\+json/);
  // Queryables stay JSON for a browser.
  assert.match((await get('/ogc/collections/reports/queryables', BROWSER)).type, /schema\+json/);
});

test('HTML API definition: every operation with its parameters', async () => {
  const { doc, json } = await html('/ogc/api');
  const rows = els(els(doc, 'tbody')[0], 'tr');
  assert.equal(rows.length, Object.keys(json.paths).length);
  const items = rows.find((r) => text(els(r, 'td')[0]) === 'GET /collections/{collectionId}/items');
  for (const p of ['limit', 'bbox', 'datetime', 'crs', 'filter', 'f']) {
    assert.ok(text(els(items, 'td')[3]).split(', ').includes(p), p);
  }
  const landing = JSON.parse((await get('/ogc')).text);
  const doc2 = landing.links.find((l) => l.rel === 'service-doc');
  assert.equal(doc2.type, 'text/html');
  assert.equal(doc2.href, `${srv.base}/ogc/api?f=html`);
});

test('HTML landing page', async () => {
  const { doc, json } = await html('/ogc');
  assert.equal(text(els(doc, 'h1')[0]), json.title);
  assert.ok(text(doc).includes(json.description));
  const h = hrefs(doc);
  assert.ok(h.includes(`${srv.base}/ogc/collections?f=html`));
  assert.ok(h.includes(`${srv.base}/ogc/conformance?f=html`));
  assert.ok(h.includes(`${srv.base}/ogc/api`), 'the API definition, as JSON');
});

test('HTML conformance', async () => {
  const { doc, json } = await html('/ogc/conformance', 'f');
  const items = els(doc, 'li').map(text);
  assert.deepEqual(items, json.conformsTo);
});

test('HTML collections', async () => {
  const { doc, json } = await html('/ogc/collections');
  const rows = els(els(doc, 'tbody')[0], 'tr');
  assert.equal(rows.length, json.collections.length);
  json.collections.forEach((c, i) => {
    assert.ok(text(rows[i]).includes(c.title));
    assert.ok(hrefs(rows[i]).includes(`${srv.base}/ogc/collections/${c.id}?f=html`));
    assert.ok(hrefs(rows[i]).includes(`${srv.base}/ogc/collections/${c.id}/items?f=html`));
  });
});

test('HTML collection', async () => {
  const { doc, json } = await html('/ogc/collections/districts', 'f');
  assert.equal(text(els(doc, 'h1')[0]), json.title);
  const dl = text(els(doc, 'dl')[0]);
  assert.ok(dl.includes(CRS84) && dl.includes(EPSG4326), 'crs list');
  assert.ok(dl.includes(json.temporalProperty));
  assert.ok(hrefs(doc).includes(`${srv.base}/ogc/collections/districts/items?f=html`));
});

test('HTML items: a table of the features with paging links', async () => {
  const { doc, json } = await html('/ogc/collections/facilities/items?limit=3&offset=3');
  const head = els(els(doc, 'thead')[0], 'th').map(text);
  assert.deepEqual(head.slice(0, 2), ['id', 'geometry']);
  for (const k of Object.keys(json.features[0].properties)) assert.ok(head.includes(k), k);
  const rows = els(els(doc, 'tbody')[0], 'tr');
  assert.equal(rows.length, 3);
  json.features.forEach((f, i) => {
    const cells = els(rows[i], 'td').map(text);
    assert.equal(cells[0], String(f.id));
    assert.equal(cells[head.indexOf('name')], f.properties.name);
    assert.ok(hrefs(rows[i]).includes(`${srv.base}/ogc/collections/facilities/items/${f.id}?f=html`));
  });
  const rel = (r) => els(doc, 'a').filter((a) => attr(a, 'rel') === r).map((a) => new URL(attr(a, 'href')));
  const next = rel('next'), prev = rel('prev');
  assert.ok(next.length > 0 && prev.length > 0, 'prev and next');
  assert.equal(next[0].searchParams.get('f'), 'html');
  assert.equal(prev[0].searchParams.get('offset'), '0');
  const jnext = new URL(json.links.find((l) => l.rel === 'next').href);
  assert.equal(next[0].searchParams.get('cursor'), jnext.searchParams.get('cursor'));
  // Following next as a browser gives the next page, as HTML.
  const page2 = await html(next[0].pathname + next[0].search.replace(/&f=html$/, ''));
  assert.equal(els(els(page2.doc, 'tbody')[0], 'tr').length, 3);
});

test('HTML item, with its text escaped', async () => {
  const { doc, json } = await html('/ogc/collections/facilities/items/1', 'f');
  const row = (d, k) => els(d, 'tr').find((tr) => els(tr, 'th').length && text(els(tr, 'th')[0]) === k);
  assert.equal(text(els(row(doc, 'name'), 'td')[0]), json.properties.name);
  assert.ok(text(els(doc, 'h1')[0]).includes('1'));
  assert.ok(hrefs(doc).includes(`${srv.base}/ogc/collections/facilities?f=html`));

  const nasty = await html(`/ogc/collections/reports/items/${nastyId}`);
  assert.equal(nasty.json.properties.description, NASTY);
  assert.ok(!nasty.raw.includes('<script'), 'no markup from the data');
  assert.equal(els(nasty.doc, 'script').length, 0);
  assert.equal(els(nasty.doc, 'b').length, 0);
  assert.equal(text(els(row(nasty.doc, 'description'), 'td')[0]), NASTY);
});

// ---- Part 2: CRS

const swap = (c) => (typeof c[0] === 'number' ? [c[1], c[0], ...c.slice(2)] : c.map(swap));

async function feature(path) {
  const r = await get(path);
  assert.equal(r.status, 200, r.text.slice(0, 200));
  return { json: JSON.parse(r.text), crs: r.headers.get('content-crs') };
}

test('Part 2: CRS84 and EPSG:4326 write the same feature with swapped axes', async () => {
  for (const [col, id] of [['facilities', 1], ['reports', 1]]) {
    const base = `/ogc/collections/${col}/items/${id}`;
    const plain = await feature(base);
    const a = await feature(`${base}?crs=${encodeURIComponent(CRS84)}`);
    const b = await feature(`${base}?crs=${encodeURIComponent(EPSG4326)}`);
    assert.equal(plain.crs, `<${CRS84}>`);
    assert.equal(a.crs, `<${CRS84}>`);
    assert.equal(b.crs, `<${EPSG4326}>`);
    assert.deepEqual(a.json, plain.json);
    assert.deepEqual(b.json.geometry.coordinates, swap(a.json.geometry.coordinates));
    assert.deepEqual(b.json.properties, a.json.properties);
  }
  for (const col of ['districts', 'grids']) { // polygons: every position swapped
    const q = `/ogc/collections/${col}/items?limit=3`;
    const a = await feature(`${q}&crs=${encodeURIComponent(CRS84)}`);
    const b = await feature(`${q}&crs=${encodeURIComponent(EPSG4326)}`);
    assert.equal(a.crs, `<${CRS84}>`);
    assert.equal(b.crs, `<${EPSG4326}>`);
    assert.equal(b.json.features.length, 3);
    b.json.features.forEach((f, i) => {
      assert.equal(f.geometry.type, 'MultiPolygon');
      assert.deepEqual(f.geometry.coordinates, swap(a.json.features[i].geometry.coordinates));
      // lat first: Beijing's latitudes are 39-41, longitudes 115-118
      const first = f.geometry.coordinates[0][0][0];
      assert.ok(first[0] > 39 && first[0] < 42 && first[1] > 115 && first[1] < 118, String(first));
    });
    const id = a.json.features[0].id;
    const one = await feature(`/ogc/collections/${col}/items/${id}?crs=${encodeURIComponent(EPSG4326)}`);
    assert.equal(one.crs, `<${EPSG4326}>`);
    assert.deepEqual(one.json.geometry.coordinates, b.json.features[0].geometry.coordinates);
  }
});

test('Part 2: bbox-crs EPSG:4326 reads the bbox lat,lon; collections list their CRS', async () => {
  const lonlat = await feature('/ogc/collections/facilities/items?bbox=116.30,39.85,116.50,39.98&limit=5');
  const latlon = await feature('/ogc/collections/facilities/items?bbox=39.85,116.30,39.98,116.50&limit=5'
    + `&bbox-crs=${encodeURIComponent(EPSG4326)}&crs=${encodeURIComponent(EPSG4326)}`);
  assert.ok(lonlat.json.numberMatched > 0);
  assert.equal(latlon.json.numberMatched, lonlat.json.numberMatched);
  assert.deepEqual(latlon.json.features.map((f) => f.id), lonlat.json.features.map((f) => f.id));
  assert.equal(latlon.crs, `<${EPSG4326}>`);
  const cols = JSON.parse((await get('/ogc/collections')).text);
  for (const c of cols.collections) {
    assert.ok(c.crs.includes(CRS84) && c.crs.includes(EPSG4326), c.id);
    assert.equal(c.storageCrs, CRS84);
  }
});

test('Part 2: an unknown CRS URI is a 400 naming it', async () => {
  const bad = 'http://www.opengis.net/def/crs/EPSG/0/3857';
  for (const path of [
    `/ogc/collections/facilities/items?crs=${encodeURIComponent(bad)}`,
    `/ogc/collections/facilities/items/1?crs=${encodeURIComponent(bad)}`,
    `/ogc/collections/districts/items?bbox-crs=${encodeURIComponent(bad)}&bbox=1,2,3,4`,
  ]) {
    const r = await get(path);
    assert.equal(r.status, 400, path);
    assert.ok(JSON.parse(r.text).error.message.includes(bad), r.text);
  }
});
