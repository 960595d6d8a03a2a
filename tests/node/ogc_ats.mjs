// The abstract test suite of OGC API - Features - Part 1: Core (OGC 17-069r4,
// version 1.0.1, Annex A), run against a real `mapd serve` over a copy of the
// sample DB, one subtest per abstract test, named by its number and path.
// Numbers follow 17-069r4's annex (as the OGC's own executable suite,
// opengeospatial/ets-ogcapi-features10, numbers them); 1.0.1 writes the
// paths /conf/core/... where 1.0.0 wrote /ats/core/...; they are given here
// in the /ats/ form.
//
// Implemented (conformance classes core and geojson, and html):
//   1 /ats/core/http                 2 /ats/core/crs84
//   3 /ats/core/root-op              4 /ats/core/root-success
//   5 /ats/core/api-definition-op    6 /ats/core/api-definition-success
//   7 /ats/core/conformance-op       8 /ats/core/conformance-success
//   9 /ats/core/fc-md-op            10 /ats/core/fc-md-success (with its
//                                       fc-md-links, fc-md-items,
//                                       fc-md-items-links, fc-md-extent)
//  11 /ats/core/sfc-md-op           12 /ats/core/sfc-md-success
//  13 /ats/core/fc-op               14 /ats/core/fc-bbox-definition
//  15 /ats/core/fc-bbox-response    16 /ats/core/fc-limit-definition
//  17 /ats/core/fc-limit-response   18 /ats/core/fc-time-definition
//  19 /ats/core/fc-time-response    20 /ats/core/query-param-invalid
//  21 /ats/core/query-param-unknown 22 /ats/core/fc-response
//  23 /ats/core/fc-links            24 /ats/core/fc-timeStamp
//  25 /ats/core/fc-numberMatched    26 /ats/core/fc-numberReturned
//  27 /ats/core/f-op                28 /ats/core/f-success
//  29 /ats/core/f-links
//  30 /ats/geojson/definition       31 /ats/geojson/content
//  36 /ats/html/definition          37 /ats/html/content (the HTML 5 part:
//                                       parsed without error by parse5; the
//                                       "manual inspection" is
//                                       tests/node/ogc_html.mjs's content checks)
// Not implemented:
//  32-35 /ats/gmlsf0/*, /ats/gmlsf2/*: mapd offers no GML encoding.
//  38-43 /ats/oas30/*: the OpenAPI 3.0 class is checked here only as far as
//        test 6 needs (the document is valid OpenAPI and lists the paths and
//        parameters); completeness of every response code and security
//        schemes are not tested.
// Where the ATS says "for every collection" or "a sufficiently large subset
// of features", the tests use every collection and the first page of each.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { parse } from 'parse5';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startServer } from './mapd_server.mjs';

const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';
const CORE = 'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core';
const GEOJSON = 'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson';
const HTML = 'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html';
// The sample city: Beijing, lon 115.4-117.6, lat 39.4-41.1.
const inCity = ([x, y]) => x > 115 && x < 118 && y > 39 && y < 42;

let srv, root;
before(async () => { srv = await startServer(['--rate-limit', '0']); root = `${srv.base}/ogc`; });
after(async () => { await srv.stop(); });

async function get(url, accept = 'application/json') {
  const res = await fetch(url.startsWith('http') ? url : root + url, { headers: { Accept: accept } });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, type: res.headers.get('content-type') || '', headers: res.headers, text, json };
}
async function ok(url, accept) {
  const r = await get(url, accept);
  assert.equal(r.status, 200, `${url}: ${r.text.slice(0, 200)}`);
  return r;
}
const link = (doc, rel, type) => doc.links.find((l) => l.rel === rel && (!type || l.type === type));
function linksHaveRelAndType(doc, where) {
  assert.ok(Array.isArray(doc.links) && doc.links.length > 0, `${where}: links`);
  for (const l of doc.links) {
    assert.equal(typeof l.rel, 'string', `${where}: rel`);
    assert.equal(typeof l.type, 'string', `${where}: type of ${l.rel}`);
    assert.doesNotThrow(() => new URL(l.href), `${where}: href ${l.href}`);
  }
}
const positions = (c) => (typeof c[0] === 'number' ? [c] : c.flatMap(positions));
async function collections() { return (await ok('/collections')).json.collections; }
async function itemsOf(id, q = '') { return (await ok(`/collections/${id}/items${q}`)).json; }
async function apiDoc() { return (await ok('/api')).json; }
// A parameter of GET /collections/{collectionId}/items, $refs resolved.
async function itemsParam(name) {
  const api = await apiDoc();
  for (const p of api.paths['/collections/{collectionId}/items'].get.parameters) {
    const def = p.$ref ? api.components.parameters[p.$ref.split('/').pop()] : p;
    if (def.name === name) return def;
  }
  return undefined;
}
// GeoJSON (RFC 7946) checks, written from the RFC.
function geojsonGeometry(g, where) {
  assert.ok(['Point', 'MultiPoint', 'LineString', 'MultiLineString', 'Polygon', 'MultiPolygon']
    .includes(g.type), `${where}: geometry type ${g.type}`);
  const depth = { Point: 0, MultiPoint: 1, LineString: 1, MultiLineString: 2, Polygon: 2, MultiPolygon: 3 }[g.type];
  let c = g.coordinates;
  for (let i = 0; i < depth; i++) { assert.ok(Array.isArray(c) && c.length > 0, where); c = c[0]; }
  assert.ok(c.length >= 2 && c.every((n) => typeof n === 'number'), `${where}: position`);
  if (g.type === 'Polygon' || g.type === 'MultiPolygon') {
    const rings = g.type === 'Polygon' ? g.coordinates : g.coordinates.flat();
    for (const ring of rings) {
      assert.ok(ring.length >= 4, `${where}: ring of ${ring.length}`);
      assert.deepEqual(ring[0], ring[ring.length - 1], `${where}: ring closed`);
    }
  }
}
function geojsonFeature(f, where) {
  assert.equal(f.type, 'Feature', where);
  assert.ok(typeof f.id === 'number' || typeof f.id === 'string', `${where}: id`);
  assert.ok(f.geometry === null || typeof f.geometry === 'object', where);
  if (f.geometry) geojsonGeometry(f.geometry, where);
  assert.ok(f.properties === null || typeof f.properties === 'object', `${where}: properties`);
}

test('Abstract Test 1 (/ats/core/http): the API speaks HTTP 1.1', async () => {
  for (const path of ['/ogc', '/ogc/conformance', '/ogc/collections']) {
    const version = await new Promise((resolve, reject) => {
      http.get(srv.base + path, (res) => { res.resume(); resolve(res.httpVersion); }).on('error', reject);
    });
    assert.equal(version, '1.1', path);
  }
});

test('Abstract Test 2 (/ats/core/crs84): geometries are CRS84 unless another CRS is asked for', async () => {
  for (const c of await collections()) {
    const r = await ok(`/collections/${c.id}/items?limit=5`);
    assert.equal(r.headers.get('content-crs'), `<${CRS84}>`);
    for (const f of r.json.features) {
      for (const p of positions(f.geometry.coordinates)) assert.ok(inCity(p), `${c.id} ${f.id}: lon,lat ${p}`);
    }
  }
});

test('Abstract Test 3 (/ats/core/root-op): the landing page is at {root}/', async () => {
  const r = await ok('/');
  assert.match(r.type, /^application\/json/);
  assert.equal((await ok('')).text, r.text, '{root} and {root}/ are the same page');
});

test('Abstract Test 4 (/ats/core/root-success): service-desc, conformance and data links', async () => {
  const doc = (await ok('/')).json;
  linksHaveRelAndType(doc, 'landing page');
  assert.ok(link(doc, 'service-desc') || link(doc, 'service-doc'), 'service-desc or service-doc');
  assert.ok(link(doc, 'conformance'));
  assert.ok(link(doc, 'data'));
  assert.ok(link(doc, 'self'));
});

test('Abstract Test 5 (/ats/core/api-definition-op): the API definition is where service-desc says', async () => {
  const doc = (await ok('/')).json;
  const desc = link(doc, 'service-desc');
  const r = await ok(desc.href, desc.type);
  assert.equal(r.type, 'application/vnd.oai.openapi+json;version=3.0');
  assert.equal(desc.type, r.type);
});

test('Abstract Test 6 (/ats/core/api-definition-success): a valid OpenAPI 3.0 document of the API', async () => {
  const api = await apiDoc();
  assert.match(api.openapi, /^3\.0\./);
  const res = await new Validator().validate(api);
  assert.ok(res.valid, String(JSON.stringify(res.errors)).slice(0, 1000));
  assert.equal(api.servers[0].url, root);
  for (const p of ['/', '/conformance', '/collections', '/collections/{collectionId}',
    '/collections/{collectionId}/items', '/collections/{collectionId}/items/{featureId}']) {
    assert.ok(api.paths[p]?.get, `operation GET ${p}`);
  }
});

test('Abstract Test 7 (/ats/core/conformance-op): the conformance declaration is at {root}/conformance', async () => {
  const doc = (await ok('/')).json;
  const r = await ok(link(doc, 'conformance').href);
  assert.match(r.type, /^application\/json/);
  assert.equal(r.text, (await ok('/conformance')).text);
});

test('Abstract Test 8 (/ats/core/conformance-success): conformsTo lists core and the classes implemented', async () => {
  const { conformsTo } = (await ok('/conformance')).json;
  assert.ok(Array.isArray(conformsTo) && conformsTo.every((u) => typeof u === 'string'));
  assert.ok(conformsTo.includes(CORE));
  assert.ok(conformsTo.includes(GEOJSON), 'the GeoJSON class, tested below');
  assert.ok(conformsTo.includes(HTML), 'the HTML class, tested below');
  assert.ok(conformsTo.includes('http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30'));
  assert.equal(new Set(conformsTo).size, conformsTo.length, 'no class twice');
});

test('Abstract Test 9 (/ats/core/fc-md-op): the collections are at {root}/collections', async () => {
  const doc = (await ok('/')).json;
  const r = await ok(link(doc, 'data').href);
  assert.match(r.type, /^application\/json/);
  assert.ok(Array.isArray(r.json.collections));
});

test('Abstract Test 10 (/ats/core/fc-md-success): links, items, items-links and extent of the collections', async () => {
  const doc = (await ok('/collections')).json;
  // fc-md-links: self, and alternate for every other encoding (HTML).
  linksHaveRelAndType(doc, 'collections');
  assert.ok(link(doc, 'self', 'application/json'));
  assert.ok(link(doc, 'alternate', 'text/html'));
  // fc-md-items: one entry per collection, with an id.
  assert.deepEqual(doc.collections.map((c) => c.id).sort(), ['districts', 'facilities', 'grids', 'reports']);
  for (const c of doc.collections) {
    assert.equal(typeof c.id, 'string');
    // fc-md-items-links: a link to the items, with rel items and a type.
    linksHaveRelAndType(c, c.id);
    const items = link(c, 'items');
    assert.equal(items.type, 'application/geo+json');
    assert.equal(new URL(items.href).pathname, `/ogc/collections/${c.id}/items`);
    // fc-md-extent: the bbox holds every geometry, the interval every instant.
    const [bbox] = c.extent.spatial.bbox;
    assert.equal(c.extent.spatial.crs ?? CRS84, CRS84);
    const page = await itemsOf(c.id, '?limit=100');
    for (const f of page.features) {
      for (const [x, y] of positions(f.geometry.coordinates)) {
        assert.ok(x >= bbox[0] - 1e-6 && x <= bbox[2] + 1e-6 && y >= bbox[1] - 1e-6 && y <= bbox[3] + 1e-6,
          `${c.id} ${f.id} inside ${bbox}`);
      }
    }
    if (c.extent.temporal) {
      const [[t0, t1]] = c.extent.temporal.interval;
      for (const f of page.features) {
        const t = f.properties[c.temporalProperty];
        if (t == null) continue;
        assert.ok((t0 === null || Date.parse(t) >= Date.parse(t0)) && (t1 === null || Date.parse(t) <= Date.parse(t1)),
          `${c.id} ${f.id}: ${t} in ${t0}/${t1}`);
      }
    }
  }
});

test('Abstract Test 11 (/ats/core/sfc-md-op): each collection is at {root}/collections/{collectionId}', async () => {
  for (const c of await collections()) {
    const r = await ok(`/collections/${c.id}`);
    assert.match(r.type, /^application\/json/);
  }
  assert.equal((await get('/collections/nosuch')).status, 404);
});

test('Abstract Test 12 (/ats/core/sfc-md-success): the collection is the entry of /collections', async () => {
  for (const c of await collections()) {
    const one = (await ok(`/collections/${c.id}`)).json;
    for (const k of ['id', 'title', 'description', 'extent']) assert.deepEqual(one[k], c[k], `${c.id}.${k}`);
  }
});

test('Abstract Test 13 (/ats/core/fc-op): every collection has its items at .../items', async () => {
  for (const c of await collections()) {
    const r = await ok(`/collections/${c.id}/items`);
    assert.equal(r.type, 'application/geo+json');
    assert.equal(r.json.type, 'FeatureCollection');
  }
});

test('Abstract Test 14 (/ats/core/fc-bbox-definition): bbox is an array of 4 or 6 numbers, form, not exploded', async () => {
  const p = await itemsParam('bbox');
  assert.equal(p.in, 'query');
  assert.ok(!p.required);
  assert.equal(p.style, 'form');
  assert.equal(p.explode, false);
  assert.equal(p.schema.type, 'array');
  assert.equal(p.schema.minItems, 4);
  assert.equal(p.schema.maxItems, 6);
  assert.equal(p.schema.items.type, 'number');
});

test('Abstract Test 15 (/ats/core/fc-bbox-response): only features that intersect the bbox, in CRS84', async () => {
  const box = [116.38, 39.90, 116.42, 39.93];
  for (const id of ['facilities', 'reports']) { // points: inside means intersecting
    const r = await ok(`/collections/${id}/items?bbox=${box.join(',')}&limit=1000`);
    assert.equal(r.headers.get('content-crs'), `<${CRS84}>`);
    assert.ok(r.json.features.length > 0, id);
    for (const f of r.json.features) {
      const [x, y] = f.geometry.coordinates;
      assert.ok(x >= box[0] && x <= box[2] && y >= box[1] && y <= box[3], `${id} ${f.id} at ${x},${y}`);
    }
  }
  // polygons: each returned district reaches into the box (its own bbox overlaps it)
  const d = await itemsOf('districts', `?bbox=${box.join(',')}&limit=100`);
  assert.ok(d.features.length > 0);
  for (const f of d.features) {
    const ps = positions(f.geometry.coordinates);
    const xs = ps.map((p) => p[0]), ys = ps.map((p) => p[1]);
    assert.ok(Math.min(...xs) <= box[2] && Math.max(...xs) >= box[0] && Math.min(...ys) <= box[3] && Math.max(...ys) >= box[1]);
  }
  const all = await itemsOf('districts', '?limit=100');
  assert.ok(d.numberMatched < all.numberMatched, 'the bbox selects');
});

test('Abstract Test 16 (/ats/core/fc-limit-definition): limit is an integer, 1..10000, default 10', async () => {
  const p = await itemsParam('limit');
  assert.equal(p.in, 'query');
  assert.ok(!p.required);
  assert.equal(p.style, 'form');
  assert.equal(p.explode, false);
  assert.equal(p.schema.type, 'integer');
  assert.equal(p.schema.minimum, 1);
  assert.equal(p.schema.maximum, 10000);
  assert.equal(p.schema.default, 10);
});

test('Abstract Test 17 (/ats/core/fc-limit-response): no more features than limit, nor than its maximum', async () => {
  for (const limit of [1, 7, 10]) {
    const page = await itemsOf('reports', `?limit=${limit}`);
    assert.equal(page.features.length, limit);
  }
  assert.equal((await itemsOf('reports')).features.length, 10, 'the default');
  const big = await itemsOf('reports', '?limit=20000');
  assert.ok(big.features.length <= 10000, 'the maximum of the definition');
});

test('Abstract Test 18 (/ats/core/fc-time-definition): datetime is a string query parameter', async () => {
  const p = await itemsParam('datetime');
  assert.equal(p.in, 'query');
  assert.ok(!p.required);
  assert.equal(p.schema.type, 'string');
  assert.ok(!p.explode);
});

test('Abstract Test 19 (/ats/core/fc-time-response): only features whose time intersects datetime', async () => {
  const col = (await collections()).find((c) => c.id === 'reports');
  const prop = col.temporalProperty;
  const cases = [
    ['2026-06-01T00:00:00Z/..', (t) => t >= Date.parse('2026-06-01T00:00:00Z')],
    ['../2026-03-01T00:00:00Z', (t) => t <= Date.parse('2026-03-01T00:00:00Z')],
    ['2026-04-01T00:00:00Z/2026-04-30T23:59:59Z',
      (t) => t >= Date.parse('2026-04-01T00:00:00Z') && t <= Date.parse('2026-04-30T23:59:59Z')],
  ];
  let total = 0;
  for (const [dt, inside] of cases) {
    const page = await itemsOf('reports', `?datetime=${encodeURIComponent(dt)}&limit=500`);
    for (const f of page.features) assert.ok(inside(Date.parse(f.properties[prop])), `${dt}: ${f.properties[prop]}`);
    total += page.numberMatched;
  }
  assert.ok(total > 0, 'some reports in those intervals');
  // an instant (a date-time) matches exactly that second
  const one = (await itemsOf('reports', '?limit=1')).features[0];
  const instant = new Date(Date.parse(one.properties[prop])).toISOString().replace('.000Z', 'Z');
  const exact = await itemsOf('reports', `?datetime=${instant}&limit=100`);
  assert.ok(exact.features.some((f) => f.id === one.id));
  for (const f of exact.features) assert.equal(Date.parse(f.properties[prop]), Date.parse(instant));
  assert.equal((await get('/collections/reports/items?datetime=not-a-time')).status, 400);
});

test('Abstract Test 20 (/ats/core/query-param-invalid): an invalid value is a 400', async () => {
  for (const q of ['limit=0', 'limit=abc', 'limit=-5', 'bbox=1,2,3', 'bbox=a,b,c,d', 'bbox=116,40,117,39',
    'datetime=2026-13-45', 'datetime=2026-02-01/2026-01-01']) {
    const r = await get(`/collections/reports/items?${q}`);
    assert.equal(r.status, 400, q);
    assert.ok(r.json.error.message, q);
  }
});

test('Abstract Test 21 (/ats/core/query-param-unknown): an unknown parameter is a 400', async () => {
  for (const path of ['/collections/reports/items?foo=1', '/collections?bar=2', '/?limit=3', '/collections/reports/items/1?bbox=1,2,3,4']) {
    const r = await get(path);
    assert.equal(r.status, 400, path);
    assert.ok(r.json.error.message.includes('unknown'), path);
  }
});

test('Abstract Test 22 (/ats/core/fc-response): type FeatureCollection and a features array', async () => {
  for (const c of await collections()) {
    const page = await itemsOf(c.id, '?limit=3');
    assert.equal(page.type, 'FeatureCollection');
    assert.ok(Array.isArray(page.features));
    assert.equal(page.features.length, 3);
  }
});

test('Abstract Test 23 (/ats/core/fc-links): self, alternate, next; every link has rel and type', async () => {
  const page = await itemsOf('facilities', '?limit=4&category=toilet');
  linksHaveRelAndType(page, 'items');
  const self = link(page, 'self', 'application/geo+json');
  assert.ok(self);
  assert.equal(new URL(self.href).searchParams.get('category'), 'toilet');
  assert.ok(link(page, 'alternate', 'text/html'), 'the HTML form');
  const next = link(page, 'next');
  assert.ok(next);
  const page2 = (await ok(next.href)).json;
  assert.equal(page2.features.length, 4);
  assert.ok(page2.features.every((f) => f.properties.category === 'toilet'));
  assert.ok(!page2.features.some((f) => page.features.some((g) => g.id === f.id)), 'next is the next page');
});

test('Abstract Test 24 (/ats/core/fc-timeStamp): timeStamp is when the answer was made', async () => {
  const before = Date.now();
  const page = await itemsOf('facilities', '?limit=1');
  const after = Date.now();
  const t = Date.parse(page.timeStamp);
  assert.match(page.timeStamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  assert.ok(t >= before - 2000 && t <= after + 2000, `${page.timeStamp} within the request`);
});

test('Abstract Test 25 (/ats/core/fc-numberMatched): numberMatched is the count of matching features', async () => {
  // Walk every page of a selection and count.
  const q = '?bbox=116.38,39.90,116.42,39.93&limit=50';
  let page = await itemsOf('reports', q);
  const matched = page.numberMatched;
  let count = page.features.length;
  for (let next = link(page, 'next'); next; next = link(page, 'next')) {
    page = (await ok(next.href)).json;
    if (page.numberMatched !== undefined) assert.equal(page.numberMatched, matched);
    count += page.features.length;
  }
  assert.equal(count, matched);
  assert.ok(matched > 50, 'more than one page');
});

test('Abstract Test 26 (/ats/core/fc-numberReturned): numberReturned is the count of features in the answer', async () => {
  for (const q of ['?limit=1', '?limit=9', '?bbox=116.38,39.90,116.42,39.93&limit=1000']) {
    const page = await itemsOf('reports', q);
    assert.equal(page.numberReturned, page.features.length, q);
  }
});

test('Abstract Test 27 (/ats/core/f-op): each feature of a page is at .../items/{featureId}', async () => {
  for (const c of await collections()) {
    const page = await itemsOf(c.id, '?limit=5');
    for (const f of page.features) {
      const r = await ok(`/collections/${c.id}/items/${f.id}`);
      assert.equal(r.type, 'application/geo+json');
      assert.equal(r.json.id, f.id);
    }
  }
  assert.equal((await get('/collections/facilities/items/999999999')).status, 404);
});

test('Abstract Test 28 (/ats/core/f-success): the feature is the same as in the items', async () => {
  for (const c of await collections()) {
    const [f] = (await itemsOf(c.id, '?limit=1')).features;
    const one = (await ok(`/collections/${c.id}/items/${f.id}`)).json;
    geojsonFeature(one, `${c.id} ${f.id}`);
    assert.deepEqual(one.geometry, f.geometry);
    assert.deepEqual(one.properties, f.properties);
  }
});

test('Abstract Test 29 (/ats/core/f-links): self, alternate and collection links', async () => {
  for (const c of await collections()) {
    const [f] = (await itemsOf(c.id, '?limit=1')).features;
    const url = `${root}/collections/${c.id}/items/${f.id}`;
    const one = (await ok(url)).json;
    linksHaveRelAndType(one, `${c.id} ${f.id}`);
    assert.equal(link(one, 'self').href, url);
    assert.equal(link(one, 'self').type, 'application/geo+json');
    const alt = link(one, 'alternate', 'text/html');
    assert.ok(alt, 'the HTML form');
    assert.match((await ok(alt.href)).type, /^text\/html/);
    assert.equal(link(one, 'collection').href, `${root}/collections/${c.id}`);
  }
});

test('Abstract Test 30 (/ats/geojson/definition): features as application/geo+json, the rest application/json', async () => {
  assert.match((await ok('/')).type, /^application\/json/);
  assert.match((await ok('/conformance')).type, /^application\/json/);
  assert.match((await ok('/collections')).type, /^application\/json/);
  assert.match((await ok('/collections/grids')).type, /^application\/json/);
  assert.equal((await ok('/collections/grids/items?limit=1', 'application/geo+json')).type, 'application/geo+json');
  const api = await apiDoc();
  assert.ok(api.paths['/collections/{collectionId}/items'].get.responses['200'].content['application/geo+json']);
  assert.ok(api.paths['/collections/{collectionId}/items/{featureId}'].get.responses['200'].content['application/geo+json']);
});

test('Abstract Test 31 (/ats/geojson/content): GeoJSON FeatureCollection and Feature objects, links as a foreign member', async () => {
  for (const c of await collections()) {
    const page = await itemsOf(c.id, '?limit=5');
    assert.equal(page.type, 'FeatureCollection');
    assert.ok(Array.isArray(page.links));
    page.features.forEach((f) => geojsonFeature(f, `${c.id} ${f.id}`));
    const one = (await ok(`/collections/${c.id}/items/${page.features[0].id}`)).json;
    geojsonFeature(one, c.id);
    assert.ok(Array.isArray(one.links));
  }
});

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const htmlPaths = ['/', '/conformance', '/api', '/collections', '/collections/reports', '/collections/reports/items',
  '/collections/reports/items/1'];

test('Abstract Test 36 (/ats/html/definition): every 200 answer to an HTML request is text/html', async () => {
  for (const p of htmlPaths) {
    assert.match((await ok(p, BROWSER)).type, /^text\/html\b/, p);
    assert.match((await ok(p + (p.includes('?') ? '&' : '?') + 'f=html')).type, /^text\/html\b/, p);
  }
});

test('Abstract Test 37 (/ats/html/content): the HTML pages are HTML 5 documents', async () => {
  for (const p of htmlPaths) {
    const r = await ok(p, BROWSER);
    const errors = [];
    const doc = parse(r.text, { onParseError: (e) => errors.push(e.code) });
    assert.deepEqual(errors, [], p);
    assert.equal(doc.childNodes[0].nodeName, '#documentType', `${p}: <!DOCTYPE html>`);
    assert.equal(doc.childNodes[0].name, 'html');
  }
});
