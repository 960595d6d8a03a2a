// "Me too" seen by independent readers: the report tile's raw feature carries
// `supporters` (decoded with @mapbox/vector-tile) and changes on the next
// fetch after a support, the TileJSON lists the field, the live event stream
// has a report.supported event, and the list sorts by it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Pbf from 'pbf';
import { VectorTile } from '@mapbox/vector-tile';
import { freshDb, http, readEvents, serve, token } from './reports_lib.mjs';
import { tileAt } from './mapd_server.mjs';

let db, srv, centre;
before(async () => {
  db = freshDb();
  centre = token(db.db, 'centre');
  srv = await serve(db.db, ['--rate-limit', '0']);
});
after(async () => { await srv.stop(); db.remove(); });

const AT = { lon: 116.40321, lat: 39.92107 };

async function feature(id) {
  const t = tileAt(17, AT.lon, AT.lat);
  const res = await fetch(`${srv.base}/tiles/reports/${t.z}/${t.x}/${t.y}.mvt`);
  assert.equal(res.status, 200);
  const vt = new VectorTile(new Pbf(Buffer.from(await res.arrayBuffer())));
  const layer = vt.layers.reports;
  for (let i = 0; i < layer.length; i++) {
    const f = layer.feature(i);
    if (f.id === id) return f;
  }
  return null;
}

test('supporters: in the tile at once, in the TileJSON, in the live events', async () => {
  const made = await http(srv.base, 'POST', '/api/v1/reports',
    { json: { category: '200102', ...AT, description: 'me too tile test' } });
  assert.equal(made.status, 201, made.text);
  const id = made.json.id;
  assert.equal((await feature(id)).properties.supporters, 0);
  for (const device of ['tile-device-0000000001', 'tile-device-0000000002']) {
    const r = await http(srv.base, 'POST', `/api/v1/reports/${id}/supporters`, { json: { device } });
    assert.equal(r.status, 201, r.text);
  }
  const f = await feature(id);
  assert.equal(f.properties.supporters, 2, 'the next tile fetch shows the count');
  assert.equal(f.properties.status, 'reported');

  const tj = await http(srv.base, 'GET', '/tiles/reports.json');
  const fields = tj.json.vector_layers.find((l) => l.id === 'reports').fields;
  assert.equal(fields.supporters, 'Number');

  const ev = await readEvents(`${srv.base}/api/v1/events?last_event_id=0`, {
    until: (events) => events.filter((e) => e.event === 'report.supported' && e.data.report.id === id).length >= 2,
    timeoutMs: 5000,
  });
  const sup = ev.events.filter((e) => e.event === 'report.supported' && e.data.report.id === id);
  assert.deepEqual(sup.map((e) => e.data.supporters), [1, 2]);
  assert.ok(!ev.raw.includes('tile-device'), 'no device token in any event');
});

test('the centre sorts by supporters; a second support from a device is 409', async () => {
  const ids = [];
  for (let i = 0; i < 3; i++) {
    const r = await http(srv.base, 'POST', '/api/v1/reports',
      { json: { category: '200104', lon: 116.35 + i * 0.001, lat: 39.95, description: `sort ${i}` } });
    assert.equal(r.status, 201, r.text);
    ids.push(r.json.id);
  }
  // ids[1] gets 5 supporters, ids[2] gets 1.
  for (let k = 0; k < 5; k++) {
    assert.equal((await http(srv.base, 'POST', `/api/v1/reports/${ids[1]}/supporters`,
      { json: { device: `sort-device-${String(k).padStart(8, '0')}` } })).status, 201);
  }
  assert.equal((await http(srv.base, 'POST', `/api/v1/reports/${ids[2]}/supporters`,
    { json: { device: 'sort-device-00000000' } })).status, 201);
  const dup = await http(srv.base, 'POST', `/api/v1/reports/${ids[2]}/supporters`,
    { json: { device: 'sort-device-00000000' } });
  assert.equal(dup.status, 409);
  assert.match(dup.json.error.message, /already supports/);
  const list = await http(srv.base, 'GET', '/api/v1/reports?category=200104&sort=supporters&limit=3', { tok: centre });
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.json.reports.slice(0, 2).map((r) => r.id), [ids[1], ids[2]]);
  const newest = await http(srv.base, 'GET', '/api/v1/reports?category=200104&limit=1');
  assert.equal(newest.json.reports[0].id, ids[2]);
});

// Clusters sum their points' supporters, and a "me too" shows in the very
// next low-zoom tile (the cluster index follows the change log).
async function clusterSupporters(z) {
  const t = tileAt(z, AT.lon, AT.lat);
  const res = await fetch(`${srv.base}/tiles/reports/${t.z}/${t.x}/${t.y}.mvt`);
  assert.equal(res.status, 200);
  const layer = new VectorTile(new Pbf(Buffer.from(await res.arrayBuffer()))).layers.reports;
  let sum = 0, clusters = 0;
  for (let i = 0; i < layer.length; i++) {
    const p = layer.feature(i).properties;
    if (p.cluster) { clusters++; assert.equal(typeof p.supporters, 'number'); }
    sum += p.supporters ?? 0;
  }
  return { sum, clusters };
}

test('clusters carry the sum of their points\' supporters, fresh after a "me too"', async () => {
  const made = await http(srv.base, 'POST', '/api/v1/reports',
    { json: { category: '200102', ...AT, description: 'me too cluster test' } });
  assert.equal(made.status, 201, made.text);
  for (const z of [10, 12]) {
    const before = await clusterSupporters(z);
    assert.ok(before.clusters > 0, `z${z} is clustered`);
    const r = await http(srv.base, 'POST', `/api/v1/reports/${made.json.id}/supporters`,
      { json: { device: `cluster-device-z${z}-00000001` } });
    assert.equal(r.status, 201, r.text);
    const after = await clusterSupporters(z);
    assert.equal(after.sum, before.sum + 1, `z${z}: the tile's supporters grew by one`);
  }
});
