// A consultation (城管维基) from creation to export: the centre publishes a
// proposal at a place with a closing date; citizens vote (once per device
// token) and comment; comments are public only once the centre approves
// them; the proposal is a vector tile layer (decoded with
// @mapbox/vector-tile) with a MapLibre style (validated by the style spec);
// after closing, votes by district and the approved comments are exported
// as GeoJSON and CSV.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Pbf from 'pbf';
import { VectorTile } from '@mapbox/vector-tile';
import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';
import { freshDb, http, serve, token } from './reports_lib.mjs';
import { tileAt } from './mapd_server.mjs';

let db, srv, centre, officer;
// A new 便民菜站 proposed at Jiaodaokou, Dongcheng (110101).
const PLACE = { lon: 116.4036, lat: 39.9401 };
// Voters: two in Dongcheng, one in Xicheng (110102), one without a location.
const VOTERS = [
  { device: 'device-0000000000000001', vote: 'for', lon: 116.41, lat: 39.93 },
  { device: 'device-0000000000000002', vote: 'for', lon: 116.42, lat: 39.92 },
  { device: 'device-0000000000000003', vote: 'against', lon: 116.36, lat: 39.93 },
  { device: 'device-0000000000000004', vote: 'against' },
];

before(async () => {
  db = freshDb();
  centre = token(db.db, 'centre');
  officer = token(db.db, 'officer');
  srv = await serve(db.db, ['--rate-limit', '0']);
});
after(async () => { await srv.stop(); db.remove(); });

test('create, vote once per device, moderate, map layer, close, export', async () => {
  const proposal = { title: '交道口新设便民菜站', body: '拟在交道口东大街设立便民菜站，营业时间 6:00-20:00。', place: '交道口东大街',
    ...PLACE, closes_at: new Date(Date.now() + 7 * 86400e3).toISOString() };
  assert.equal((await http(srv.base, 'POST', '/api/v1/consultations', { json: proposal })).status, 401);
  assert.equal((await http(srv.base, 'POST', '/api/v1/consultations', { json: proposal, tok: officer })).status, 403);
  const bad = await http(srv.base, 'POST', '/api/v1/consultations', { json: { ...proposal, closes_at: '2020-01-01' }, tok: centre });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /closes_at must be in the future/);
  const made = await http(srv.base, 'POST', '/api/v1/consultations', { json: proposal, tok: centre });
  assert.equal(made.status, 201, made.text);
  const c = made.json;
  assert.equal(c.status, 'open');
  assert.equal(c.district, '110101');
  assert.equal(made.headers.get('location'), `/api/v1/consultations/${c.id}`);

  for (const v of VOTERS) {
    const r = await http(srv.base, 'POST', `/api/v1/consultations/${c.id}/votes`, { json: v });
    assert.equal(r.status, 201, r.text);
  }
  const again = await http(srv.base, 'POST', `/api/v1/consultations/${c.id}/votes`, { json: { ...VOTERS[0], vote: 'against' } });
  assert.equal(again.status, 409, 'once per device');
  assert.match(again.json.error.message, /already voted/);
  const short = await http(srv.base, 'POST', `/api/v1/consultations/${c.id}/votes`, { json: { device: 'x', vote: 'for' } });
  assert.equal(short.status, 400);
  const maybe = await http(srv.base, 'POST', `/api/v1/consultations/${c.id}/votes`, { json: { device: 'device-0000000000000009', vote: 'maybe' } });
  assert.equal(maybe.status, 400);

  const c1 = await http(srv.base, 'POST', `/api/v1/consultations/${c.id}/comments`, { json: { device: VOTERS[0].device, body: '支持，早上买菜方便' } });
  const c2 = await http(srv.base, 'POST', `/api/v1/consultations/${c.id}/comments`, { json: { device: VOTERS[2].device, body: '广告 加微信 xxx' } });
  assert.equal(c1.status, 202, c1.text);
  assert.equal(c1.json.status, 'pending');
  // Pending comments are not public; the centre sees them.
  assert.deepEqual((await http(srv.base, 'GET', `/api/v1/consultations/${c.id}/comments`)).json.comments, []);
  const all = await http(srv.base, 'GET', `/api/v1/consultations/${c.id}/comments`, { tok: centre });
  assert.deepEqual(all.json.comments.map((x) => x.status), ['pending', 'pending']);
  assert.ok(!all.text.includes('device'), 'no device token or hash in any answer');
  const mod = (id, decision, tok) => http(srv.base, 'POST', `/api/v1/consultations/${c.id}/comments/${id}/moderation`, { json: { decision }, tok });
  assert.equal((await mod(c1.json.id, 'approve')).status, 401);
  assert.equal((await mod(c1.json.id, 'approve', centre)).status, 200);
  assert.equal((await mod(c2.json.id, 'reject', centre)).status, 200);
  assert.equal((await mod(999999, 'approve', centre)).status, 404);
  const pub = await http(srv.base, 'GET', `/api/v1/consultations/${c.id}`);
  assert.deepEqual(pub.json.approved_comments.map((x) => x.body), ['支持，早上买菜方便']);
  assert.deepEqual(pub.json.votes, { for: 2, against: 2 });

  // The map layer: the proposal is a point feature in its tile, with its counts.
  const { z, x, y } = tileAt(15, PLACE.lon, PLACE.lat);
  const res = await fetch(`${srv.base}/tiles/consultations/${z}/${x}/${y}.mvt`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/vnd.mapbox-vector-tile');
  const vt = new VectorTile(new Pbf(Buffer.from(await res.arrayBuffer())));
  const layer = vt.layers.consultations;
  assert.equal(layer.length, 1);
  const f = layer.feature(0);
  assert.equal(f.id, c.id);
  assert.equal(f.properties.title, proposal.title);
  assert.equal(f.properties.status, 'open');
  assert.equal(f.properties.votes_for, 2);
  const [lon, lat] = f.toGeoJSON(x, y, z).geometry.coordinates;
  assert.ok(Math.abs(lon - PLACE.lon) < 1e-4 && Math.abs(lat - PLACE.lat) < 1e-4, `${lon},${lat}`);
  assert.equal((await fetch(`${srv.base}/tiles/consultations/${z}/${x + 3}/${y}.mvt`)).status, 204);
  assert.equal((await fetch(`${srv.base}/tiles/consultations/99/0/0.mvt`)).status, 400);
  const style = await (await fetch(`${srv.base}/styles/consultations.json`)).json();
  assert.deepEqual(validateStyleMin(style), []);
  const tj = await (await fetch(`${srv.base}/tiles/consultations.json`)).json();
  assert.equal(tj.vector_layers[0].id, 'consultations');

  // Close: no more votes or comments.
  const closed = await http(srv.base, 'POST', `/api/v1/consultations/${c.id}/close`, { tok: centre });
  assert.equal(closed.status, 200, closed.text);
  assert.equal(closed.json.status, 'closed');
  assert.equal((await http(srv.base, 'POST', `/api/v1/consultations/${c.id}/votes`, { json: { device: 'device-0000000000000005', vote: 'for' } })).status, 409);
  assert.equal((await http(srv.base, 'POST', `/api/v1/consultations/${c.id}/comments`, { json: { device: 'device-0000000000000005', body: 'late' } })).status, 409);
  assert.equal((await http(srv.base, 'GET', '/api/v1/consultations?status=closed')).json.consultations[0].id, c.id);

  // Open data: votes by the voters' district, GeoJSON and CSV; approved comments.
  const gj = await http(srv.base, 'GET', `/api/v1/consultations/${c.id}/results.geojson`);
  assert.equal(gj.status, 200);
  assert.match(gj.headers.get('content-type'), /geo\+json/);
  const byDistrict = Object.fromEntries(gj.json.features.map((ft) => [ft.properties.district, [ft.properties.for, ft.properties.against]]));
  assert.deepEqual(byDistrict, { 110101: [2, 0], 110102: [0, 1], null: [0, 1] });
  const dc = gj.json.features.find((ft) => ft.properties.district === '110101');
  assert.equal(dc.properties.name, '东城区');
  assert.equal(dc.geometry.type, 'Point');
  assert.equal(gj.json.features.find((ft) => ft.properties.district === null).geometry, null);
  const csv = await http(srv.base, 'GET', `/api/v1/consultations/${c.id}/results.csv`);
  assert.match(csv.headers.get('content-type'), /^text\/csv/);
  const lines = csv.text.trim().split('\r\n');
  assert.equal(lines[0], '"district","name","name_en","lon","lat","for","against"');
  assert.match(lines[1], /^"110101","东城区","Dongcheng",".*","2","0"$/);
  assert.equal(lines.length, 4);
  const comments = await http(srv.base, 'GET', `/api/v1/consultations/${c.id}/comments.csv`);
  assert.equal(comments.text.trim().split('\r\n').length, 2, 'header and the one approved comment');
  assert.match(comments.text, /支持，早上买菜方便/);
  assert.doesNotMatch(comments.text, /加微信/);
});
