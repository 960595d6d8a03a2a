// Compression and validators of API answers (api/negotiate.c), over real
// HTTP with node:http (which does not decode bodies): gzip'd bodies are
// decoded with Node's zlib and must equal the identity bytes (CSV and
// the type rules are covered by tests/unit/api/test_negotiate.c); q=0 refuses
// gzip; small answers are not compressed; TileJSON, styles and the catalog
// carry a strong ETag and answer 304 to If-None-Match, per representation;
// tiles and exports keep their own coding (never compressed twice).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { freshDb, serve, report, http } from './reports_lib.mjs';

let db, srv;
before(async () => { db = freshDb(); srv = await serve(db.db); });
after(async () => { await srv.stop(); db.remove(); });

// GET with exactly these headers; { status, headers, body (raw Buffer) }.
function get(path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request(srv.base + path, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const varyList = (h) => (Array.isArray(h.vary) ? h.vary.join(',') : h.vary || '')
  .split(',').map((s) => s.trim().toLowerCase());

const BIG = [
  ['/api/v1/reports?limit=200', 'application/json'],
  ['/api/v1/within?lon=116.397&lat=39.909&radius=3000&layer=facilities&limit=200', 'application/geo+json'],
  ['/open311/v2/requests.xml', 'xml'],
  ['/open311/v2/requests.json', 'application/json'],
  ['/api/v1/hotspots?cell=500', 'json'],
  ['/ogc/collections/facilities/items?limit=100', 'json'],
];

test('JSON, GeoJSON and XML answers are gzip\'d for a client that accepts it, and decode to the identity bytes', async () => {
  for (const [path, type] of BIG) {
    const plain = await get(path);
    assert.equal(plain.status, 200, `${path}: ${plain.body}`);
    assert.ok(plain.headers['content-type'].includes(type), `${path}: ${plain.headers['content-type']}`);
    assert.ok(plain.body.length >= 1024, `${path} is big enough to compress (${plain.body.length})`);
    assert.equal(plain.headers['content-encoding'], undefined, path);
    assert.ok(varyList(plain.headers).includes('accept-encoding'), `${path} says it varies`);
    const gz = await get(path, { 'Accept-Encoding': 'gzip, deflate, br' });
    assert.equal(gz.status, 200);
    assert.equal(gz.headers['content-encoding'], 'gzip', path);
    assert.ok(varyList(gz.headers).includes('accept-encoding'), path);
    assert.equal(Number(gz.headers['content-length']), gz.body.length, `${path} Content-Length is the gzip's`);
    assert.ok(gz.body.length < plain.body.length / 2, `${path}: ${gz.body.length} vs ${plain.body.length}`);
    // OGC's timeStamp is the second of the answer: the two fetches may straddle one.
    const stamp = (b) => b.toString('utf8').replace(/"timeStamp":"[^"]*"/, '"timeStamp":""');
    assert.equal(stamp(gunzipSync(gz.body)), stamp(plain.body), `${path} decodes to the same bytes`);
  }
});

test('Accept-Encoding is parsed: q=0 refuses, * and x-gzip and case are honoured', async () => {
  const path = BIG[0][0];
  const cases = [
    ['gzip;q=0', false], ['gzip; q=0.000, deflate', false], ['identity', false], ['', false],
    ['br, deflate', false], ['*;q=0', false], ['gzip;q=0, *;q=1', false], ['*;q=0.5', true],
    ['GZIP;Q=0.001', true], ['x-gzip', true], ['deflate;q=1, gzip;q=0.5', true],
    ['gzip;q=0.5x', false], ['gzip;q=2', false], ['gzip ; q=1.000', true],
    ['deflate, *;q=0.1, gzip;q=0', false],
  ];
  for (const [ae, want] of cases) {
    const r = await get(path, { 'Accept-Encoding': ae });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-encoding'] === 'gzip', want, `Accept-Encoding: "${ae}"`);
    JSON.parse(want ? gunzipSync(r.body) : r.body);
  }
});

test('small answers are sent as they are, without Vary', async () => {
  const r = await get('/api/v1/categories/does-not-exist', { 'Accept-Encoding': 'gzip' });
  assert.ok(r.status >= 400);
  assert.ok(r.body.length < 1024);
  assert.equal(r.headers['content-encoding'], undefined);
  assert.ok(!varyList(r.headers).includes('accept-encoding'));
  JSON.parse(r.body);
});

test('TileJSON, style and catalog: strong ETag, 304 on If-None-Match, per representation', async () => {
  for (const path of ['/tiles/reports.json', '/tiles/facilities,reports.json', '/styles/mapd.json', '/tiles',
    '/ogc/collections']) {
    const a = await get(path);
    assert.equal(a.status, 200, path);
    const etag = a.headers.etag;
    assert.match(etag, /^"[0-9a-f]{32}"$/, `${path} has a strong ETag`);
    const again = await get(path);
    assert.equal(again.headers.etag, etag, `${path}: same bytes, same tag`);
    const nm = await get(path, { 'If-None-Match': etag });
    assert.equal(nm.status, 304, path);
    assert.equal(nm.body.length, 0);
    assert.equal(nm.headers.etag, etag);
    const listed = await get(path, { 'If-None-Match': `"nope", W/${etag}` });
    assert.equal(listed.status, 304, `${path}: weak comparison inside a list`);
    const other = await get(path, { 'If-None-Match': '"0123"' });
    assert.equal(other.status, 200);
    assert.deepEqual(other.body, a.body);
    if (a.body.length >= 1024) {
      const gz = await get(path, { 'Accept-Encoding': 'gzip' });
      assert.equal(gz.headers['content-encoding'], 'gzip', path);
      assert.equal(gz.headers.etag, etag.replace(/"$/, '-gz"'), `${path}: the gzip'd form has its own tag`);
      assert.deepEqual(gunzipSync(gz.body), a.body);
      const gz304 = await get(path, { 'Accept-Encoding': 'gzip', 'If-None-Match': gz.headers.etag });
      assert.equal(gz304.status, 304);
      assert.equal(gz304.headers.etag, gz.headers.etag);
      const cross = await get(path, { 'Accept-Encoding': 'gzip', 'If-None-Match': etag });
      assert.equal(cross.status, 200, `${path}: the identity tag does not validate the gzip'd form`);
    }
  }
});

test('a write changes the TileJSON (its version), so the old ETag no longer validates', async () => {
  const a = await get('/tiles/reports.json');
  const created = await http(srv.base, 'POST', '/api/v1/reports', { json: report() });
  assert.equal(created.status, 201, created.text);
  const b = await get('/tiles/reports.json', { 'If-None-Match': a.headers.etag });
  assert.equal(b.status, 200);
  assert.notEqual(b.headers.etag, a.headers.etag);
  assert.notDeepEqual(b.body, a.body);
});

test('tiles and exports keep their own coding: one gzip layer, their own tags', async () => {
  const tile = await get('/tiles/facilities/12/3372/1552.mvt', { 'Accept-Encoding': 'gzip' });
  assert.equal(tile.status, 200);
  assert.equal(tile.headers['content-encoding'], 'gzip');
  const raw = gunzipSync(tile.body);
  assert.equal(raw[0], 0x1a, 'one gunzip gives the MVT (layer tag 3, wire type 2)');
  const exp = await get('/api/v1/export/facilities.geojson', { 'Accept-Encoding': 'gzip' });
  assert.equal(exp.status, 200);
  assert.equal(exp.headers['content-encoding'], 'gzip');
  const fc = JSON.parse(gunzipSync(exp.body));
  assert.equal(fc.type, 'FeatureCollection');
  const exp304 = await get('/api/v1/export/facilities.geojson',
    { 'Accept-Encoding': 'gzip', 'If-None-Match': exp.headers.etag });
  assert.equal(exp304.status, 304);
});

test('HEAD of a gzip\'d answer has the gzip\'d length and no body', async () => {
  const gz = await get(BIG[0][0], { 'Accept-Encoding': 'gzip' });
  const head = await new Promise((resolve, reject) => {
    const req = request(srv.base + BIG[0][0], { method: 'HEAD', headers: { 'Accept-Encoding': 'gzip' } },
      (res) => { res.resume(); res.on('end', () => resolve(res)); });
    req.on('error', reject);
    req.end();
  });
  assert.equal(head.statusCode, 200);
  assert.equal(head.headers['content-encoding'], 'gzip');
  assert.equal(Number(head.headers['content-length']), gz.body.length);
});
