// Privacy (SPEC §7): a reporter's phone, e-mail, name and device id, given
// through the JSON API and through Open311, appear in no public response,
// no export, no tile and no event. Every public GET family is searched; the
// test fails if any byte sequence of the contact shows up.
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { freshDb, http, readEvents, serve, token } from './reports_lib.mjs';
import { tileAt } from './mapd_server.mjs';

const PHONE = '13987654321';
const EMAIL = 'privacy.probe.7731@example.cn';
const NAME = '隐私探针';
const DEVICE = 'device-probe-5521';
const O311_PHONE = '15011112222';
const O311_EMAIL = 'o311.probe.9182@example.cn';
const SECRETS = [PHONE, EMAIL, NAME, DEVICE, O311_PHONE, O311_EMAIL, '7731@', '87654321'];
const POINT = { lon: 116.4033, lat: 39.9139 };

let db, srv, centre, app, ids = [], stream;
before(async () => {
  db = freshDb();
  centre = token(db.db, 'centre');
  app = token(db.db, 'app');
  srv = await serve(db.db, ['--rate-limit', '0']);
  // The event stream is open before the reports exist.
  stream = readEvents(`${srv.base}/api/v1/events`, { until: (ev) => ev.length >= 5, timeoutMs: 8000 });
  await new Promise((r) => setTimeout(r, 300));
  const a = await http(srv.base, 'POST', '/api/v1/reports', { json: {
    category: '200501', ...POINT, description: '无照游商', contact: { phone: PHONE, email: EMAIL, name: NAME, device_id: DEVICE },
  } });
  assert.equal(a.status, 201, a.text);
  const b = await http(srv.base, 'POST', '/open311/v2/requests.json', { form: {
    api_key: app, service_code: '200501', lat: String(POINT.lat), long: String(POINT.lon + 0.0001),
    phone: O311_PHONE, email: O311_EMAIL, first_name: NAME, device_id: DEVICE,
  } });
  assert.equal(b.status, 201, b.text);
  ids = [a.json.id, Number(b.json[0].service_request_id)];
  for (const action of ['accept', 'dispatch']) {
    const r = await http(srv.base, 'POST', `/api/v1/reports/${ids[0]}/transitions`, { json: { action }, tok: centre });
    assert.equal(r.status, 200, r.text);
  }
});
after(async () => { await srv.stop(); db.remove(); });

function clean(where, bytes) {
  const text = Buffer.isBuffer(bytes) ? bytes.toString('latin1') + Buffer.from(bytes).toString('utf8') : String(bytes);
  for (const s of SECRETS) assert.ok(!text.includes(s), `${where} leaks ${s}`);
}

test('the contact was stored (privately)', async () => {
  const { execFileSync } = await import('node:child_process');
  const rows = execFileSync('sqlite3', [db.db, `SELECT phone, email FROM report_contacts WHERE report_id IN (${ids.join(',')}) ORDER BY report_id`], { encoding: 'utf8' });
  assert.match(rows, new RegExp(PHONE));
  assert.match(rows, new RegExp(O311_EMAIL));
});

test('JSON API, Open311, OGC, exports, stats, queries: no contact', async () => {
  const paths = [
    ...ids.flatMap((id) => [`/api/v1/reports/${id}`, `/api/v1/reports/${id}/history`, `/api/v1/reports/${id}/duplicates`,
      `/open311/v2/requests/${id}.json?extensions=true`, `/open311/v2/requests/${id}.xml?extensions=true`,
      `/ogc/collections/reports/items/${id}`]),
    '/api/v1/reports?limit=50', '/api/v1/reports?category=200501&limit=1000',
    '/open311/v2/requests.json?service_code=200501&extensions=true', '/open311/v2/requests.xml?service_code=200501',
    `/ogc/collections/reports/items?bbox=${POINT.lon - 0.01},${POINT.lat - 0.01},${POINT.lon + 0.01},${POINT.lat + 0.01}&limit=1000`,
    '/api/v1/export/reports.geojson', '/api/v1/export/reports.csv',
    `/api/v1/nearest?layer=reports&lon=${POINT.lon}&lat=${POINT.lat}&k=20`,
    `/api/v1/within?layer=reports&lon=${POINT.lon}&lat=${POINT.lat}&radius=200`,
    '/api/v1/stats?by=category', '/api/v1/hotspots?layer=reports', '/health', '/metrics',
  ];
  let seen = 0;
  for (const p of paths) {
    const r = await http(srv.base, 'GET', p);
    clean(p, r.bytes);
    if (r.status === 200 && r.text.includes(String(ids[0]))) seen++;
  }
  assert.ok(seen >= 8, `the reports themselves are visible on public endpoints (${seen})`);
});

test('tiles covering the reports: no contact in any zoom', async () => {
  let tiles = 0;
  for (let z = 0; z <= 18; z++) {
    const { x, y } = tileAt(z, POINT.lon, POINT.lat);
    const r = await http(srv.base, 'GET', `/tiles/reports/${z}/${x}/${y}.mvt`, { headers: { 'Accept-Encoding': 'identity' } });
    let bytes = r.bytes;
    if (bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
    clean(`tile ${z}/${x}/${y}`, bytes);
    if (r.status === 200) tiles++;
  }
  assert.ok(tiles >= 10, `tiles were served (${tiles})`);
  const composite = tileAt(16, POINT.lon, POINT.lat);
  const r = await http(srv.base, 'GET', `/tiles/facilities,reports/16/${composite.x}/${composite.y}.mvt`);
  clean('composite tile', r.bytes);
});

test('the event stream carries the reports but no contact', async () => {
  const { events, raw } = await stream;
  clean('events', raw);
  const created = events.filter((e) => e.event === 'report.created').map((e) => e.data.report.id);
  for (const id of ids) assert.ok(created.includes(id), `created event for ${id}`);
  assert.ok(events.some((e) => e.event === 'report.transitioned' && e.data.to === 'dispatched'));
  // Replay from the start of the database's event log as well.
  const replay = await readEvents(`${srv.base}/api/v1/events`, { headers: { 'Last-Event-ID': '0' }, until: (ev) => ev.length >= 4 });
  clean('replayed events', replay.raw);
});
