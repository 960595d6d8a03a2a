// The case workflow of SPEC §4 over HTTP: every allowed transition works for
// its role; every other action/role at every state is refused (401 without a
// token, 403 for the wrong role, 409 for the wrong state) and changes
// nothing; the history is complete and ordered; park/resume returns to the
// parked-from state; merge closes a duplicate; an accepted correction
// changes its facility (or, for a missing one, adds it); the deadline is set
// at dispatch; overdue filters.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { BIN, HERE, freshDb, http, report, serve, token } from './reports_lib.mjs';

// SPEC §4, written out independently of store/domain/workflow.c.
const OPEN = ['reported', 'filed', 'dispatched', 'in_progress', 'handled'];
const SPEC = {
  accept: { from: ['reported'], roles: ['centre', 'admin'] },
  reject: { from: ['reported'], roles: ['centre', 'admin'] },
  dispatch: { from: ['filed'], roles: ['centre', 'admin'] },
  start: { from: ['dispatched'], roles: ['officer', 'admin'] },
  report_back: { from: ['in_progress'], roles: ['officer', 'admin'] },
  rework: { from: ['handled'], roles: ['centre', 'admin'] },
  verify: { from: ['handled'], roles: ['centre', 'admin'] },
  park: { from: OPEN, roles: ['centre', 'admin'] },
  resume: { from: ['parked'], roles: ['centre', 'admin'] },
  merge: { from: OPEN, roles: ['centre', 'admin'] },
};

let db, srv, tok;
before(async () => {
  db = freshDb();
  // Officers act only on cases dispatched to their unit (tests/node/staff_units.mjs).
  execFileSync(BIN, ['unit', 'add', '--db', db.db, '--code', 'U1', '--name', '东城区环卫中心'], { stdio: 'ignore' });
  tok = { app: token(db.db, 'app'), centre: token(db.db, 'centre'), admin: token(db.db, 'admin'),
    officer: execFileSync(BIN, ['token', 'add', '--db', db.db, '--role', 'officer', '--unit', 'U1', '--name', '王五'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() };
  srv = await serve(db.db, ['--rate-limit', '0']);
});
after(async () => { await srv.stop(); db.remove(); });

async function create(extra = {}, who) {
  const r = await http(srv.base, 'POST', '/api/v1/reports', { json: report(extra), tok: who && tok[who] });
  assert.equal(r.status, 201, r.text);
  return r.json;
}
const step = (id, action, who, extra = {}) =>
  http(srv.base, 'POST', `/api/v1/reports/${id}/transitions`, {
    json: { action, note: `${action} by ${who}`, ...(action === 'dispatch' ? { unit: 'U1' } : {}), ...extra },
    tok: who && tok[who] });
const get = async (id) => (await http(srv.base, 'GET', `/api/v1/reports/${id}`)).json;

// At status `status`, every refused (action, role) answers its code and changes nothing.
async function refusals(id, status) {
  for (const [action, rule] of Object.entries(SPEC)) {
    for (const who of [undefined, 'app', 'officer', 'centre']) {
      let want;
      if (!who) want = 401;
      else if (!rule.roles.includes(who)) want = 403;
      else if (!rule.from.includes(status)) want = 409;
      else continue; /* allowed: taken on purpose by the walks below */
      const r = await step(id, action, who, action === 'merge' ? { into: 1 } : {});
      assert.equal(r.status, want, `${action} by ${who ?? 'nobody'} at ${status}: ${r.text}`);
      assert.ok(r.json.error.message.length > 10);
    }
  }
  const now = await get(id);
  assert.equal(now.status, status);
}

test('the closed loop with rework: each step by its role, every other step refused', async () => {
  const { id } = await create();
  const path = [
    ['accept', 'centre', 'filed'], ['dispatch', 'centre', 'dispatched'], ['start', 'officer', 'in_progress'],
    ['report_back', 'officer', 'handled'], ['rework', 'centre', 'dispatched'], ['start', 'admin', 'in_progress'],
    ['report_back', 'officer', 'handled'], ['verify', 'centre', 'closed'],
  ];
  await refusals(id, 'reported');
  for (const [action, who, to] of path) {
    const r = await step(id, action, who);
    assert.equal(r.status, 200, `${action}: ${r.text}`);
    assert.equal(r.json.report.status, to);
    if (action === 'dispatch') {
      assert.ok(r.json.report.expected_at, 'deadline set at dispatch');
      assert.ok(Date.parse(r.json.report.expected_at) > Date.now());
    }
    await refusals(id, to);
  }
  const final = await get(id);
  assert.equal(final.status, 'closed');
  assert.ok(final.closed_at);
  assert.equal(final.status_note, 'verify by centre');

  const h = (await http(srv.base, 'GET', `/api/v1/reports/${id}/history`)).json.history;
  assert.deepEqual(h.map((e) => e.action), ['report', ...path.map((p) => p[0])]);
  assert.equal(h[0].from, null);
  for (let i = 1; i < h.length; i++) {
    assert.equal(h[i].from, h[i - 1].to, 'each step leaves from where the last one arrived');
    assert.ok(Date.parse(h[i].at) >= Date.parse(h[i - 1].at));
    assert.equal(h[i].role, path[i - 1][1]);
    assert.match(h[i].actor, /^token:[0-9]+$/);
  }
});

test('reject; park and resume return to the parked-from state', async () => {
  const a = await create();
  assert.equal((await step(a.id, 'reject', 'centre')).json.report.status, 'rejected');
  await refusals(a.id, 'rejected');

  const b = await create();
  await step(b.id, 'accept', 'centre');
  await step(b.id, 'dispatch', 'centre');
  await step(b.id, 'start', 'officer');
  const parked = await step(b.id, 'park', 'centre');
  assert.equal(parked.json.report.status, 'parked');
  await refusals(b.id, 'parked');
  const resumed = await step(b.id, 'resume', 'admin');
  assert.equal(resumed.status, 200, resumed.text);
  assert.equal(resumed.json.report.status, 'in_progress');
  const h = (await http(srv.base, 'GET', `/api/v1/reports/${b.id}/history`)).json.history;
  assert.deepEqual(h.map((e) => `${e.action}:${e.to}`),
    ['report:reported', 'accept:filed', 'dispatch:dispatched', 'start:in_progress', 'park:parked', 'resume:in_progress']);
});

test('duplicates are listed on create and merged by the centre', async () => {
  const spot = { lon: 116.4101, lat: 39.9151, category: '200510' };
  const first = await create(spot);
  const second = await create({ ...spot, lon: spot.lon + 0.0002 }); /* ~17 m east */
  assert.ok(second.duplicates.some((d) => d.id === first.id && d.distance_m < 50), JSON.stringify(second.duplicates));
  const far = await create({ ...spot, lat: spot.lat + 0.01 });
  assert.ok(!far.duplicates.some((d) => d.id === first.id));
  const dups = await http(srv.base, 'GET', `/api/v1/reports/${second.id}/duplicates`);
  assert.ok(dups.json.duplicates.some((d) => d.id === first.id));

  assert.equal((await step(second.id, 'merge', 'centre')).status, 400, 'merge needs into');
  assert.equal((await step(second.id, 'merge', 'centre', { into: second.id })).status, 409);
  assert.equal((await step(second.id, 'merge', 'centre', { into: 999999999 })).status, 422);
  const m = await step(second.id, 'merge', 'centre', { into: first.id });
  assert.equal(m.status, 200, m.text);
  assert.equal(m.json.report.status, 'closed');
  assert.equal(m.json.report.merged_into, first.id);
  assert.equal((await step(far.id, 'merge', 'centre', { into: second.id })).status, 409, 'no merge into a duplicate');
  const o = await http(srv.base, 'GET', `/open311/v2/requests/${second.id}.json`);
  assert.equal(o.json[0].status, 'closed');
  assert.match(o.json[0].status_notes, new RegExp(`duplicate of report ${first.id}|merge`));
});

test('officers file incidents; citizens may not', async () => {
  const inc = await create({ kind: 'incident' }, 'officer');
  assert.equal((await get(inc.id)).kind, 'incident');
  assert.equal((await get(inc.id)).channel, 'patrol');
  const r = await http(srv.base, 'POST', '/api/v1/reports', { json: report({ kind: 'incident' }) });
  assert.equal(r.status, 403);
  const bad = await http(srv.base, 'POST', '/api/v1/reports', { json: report(), tok: 'mdt_' + 'f'.repeat(64) });
  assert.equal(bad.status, 401);
});

test('an accepted correction changes the facility and keeps its history', async () => {
  const before = (await http(srv.base, 'GET', '/ogc/collections/facilities/items/7')).json;
  const c = await http(srv.base, 'POST', '/api/v1/facilities/7/corrections',
    { json: { category: '900003', description: '改名了', proposed_change: { name: '新名字便利店' } } });
  assert.equal(c.status, 201, c.text);
  const rep = await get(c.json.id);
  assert.equal(rep.kind, 'correction');
  assert.equal(rep.facility_id, 7);
  assert.deepEqual(rep.proposed_change, { name: '新名字便利店' });
  const moved = await http(srv.base, 'POST', '/api/v1/facilities/7/corrections',
    { json: { category: '900002', proposed_change: { lon: 0, lat: 0 } } });
  assert.equal(moved.status, 201, moved.text); /* checked again at accept time */
  assert.equal((await http(srv.base, 'POST', '/api/v1/facilities/999999999/corrections',
    { json: { category: '900001' } })).status, 404);
  assert.equal((await http(srv.base, 'POST', '/api/v1/facilities/7/corrections',
    { json: { category: '900002' } })).status, 400);
  assert.equal((await http(srv.base, 'POST', '/api/v1/reports',
    { json: report({ category: '900001' }) })).status, 422);

  const acc = await step(c.json.id, 'accept', 'centre');
  assert.equal(acc.status, 200, acc.text);
  const after = (await http(srv.base, 'GET', '/ogc/collections/facilities/items/7')).json;
  assert.equal(after.properties.name, '新名字便利店');
  assert.notEqual(before.properties?.name, '新名字便利店');
  const hist = execFileSync('sqlite3', [db.db, "SELECT change FROM facility_history WHERE facility_id = 7 AND report_id = " + c.json.id], { encoding: 'utf8' });
  assert.match(hist, /"before".*"after".*新名字便利店/);
  const bad = await step(moved.json.id, 'accept', 'centre');
  assert.equal(bad.status, 422, 'a move outside every district is refused at accept');
  assert.equal((await get(moved.json.id)).status, 'reported', 'nothing half-applied');
});

test('a missing facility (900004) is filed by place; accepting it adds the facility', async () => {
  const lon = HERE.lon + 0.0003, lat = HERE.lat + 0.0002;
  const proposed = { name: '新开的早餐店', category: 'breakfast', opening_hours: '06:00-10:00' };
  const r = await http(srv.base, 'POST', '/api/v1/reports',
    { json: { category: '900004', lon, lat, description: '这里有家早餐店，地图上没有', proposed_change: proposed } });
  assert.equal(r.status, 201, r.text);
  let rep = await get(r.json.id);
  assert.equal(rep.kind, 'correction');
  assert.equal(rep.facility_id, null);
  assert.deepEqual(rep.proposed_change, proposed);
  // Bad input: no facility, a category that is no facility's, a bad field,
  // proposed_change on a problem, 900004 sent as a correction of a facility.
  const bad = async (json, code, part) => {
    const b = await http(srv.base, 'POST', '/api/v1/reports', { json });
    assert.equal(b.status, code, b.text);
    assert.match(b.json.error.message, part);
  };
  await bad({ category: '900004', lon, lat }, 400, /proposed_change .* is required for category 900004/);
  await bad({ category: '900004', lon, lat, proposed_change: { name: 'x', category: 'casino' } }, 400,
    /'casino' is not a facility category/);
  await bad({ category: '900004', lon, lat, proposed_change: { name: 'x', category: 'toilet', colour: 1 } }, 400,
    /colour/);
  await bad({ category: '900004', lon, lat, proposed_change: { category: 'toilet' } }, 400, /name/);
  await bad(report({ proposed_change: { name: 'x' } }), 400, /only for map corrections/);
  const viaFacility = await http(srv.base, 'POST', '/api/v1/facilities/7/corrections',
    { json: { category: '900004', proposed_change: proposed } });
  assert.equal(viaFacility.status, 422, viaFacility.text);

  const near = `/api/v1/nearest?layer=facilities&category=breakfast&k=1&lon=${lon}&lat=${lat}`;
  assert.notEqual((await http(srv.base, 'GET', near)).json.features[0]?.properties.name, proposed.name);
  const acc = await step(r.json.id, 'accept', 'centre');
  assert.equal(acc.status, 200, acc.text);
  rep = await get(r.json.id);
  assert.ok(rep.facility_id > 0, 'the report names the new facility');
  const fac = (await http(srv.base, 'GET', `/ogc/collections/facilities/items/${rep.facility_id}`)).json;
  assert.equal(fac.properties.name, proposed.name);
  assert.equal(fac.properties.category, 'breakfast');
  assert.equal(fac.properties.opening_hours, '06:00-10:00');
  assert.equal(fac.properties.status, 'open');
  assert.equal(fac.properties.source, 'correction');
  assert.equal(fac.properties.district_code, rep.district);
  assert.ok(Math.abs(fac.geometry.coordinates[0] - lon) < 1e-9 && Math.abs(fac.geometry.coordinates[1] - lat) < 1e-9);
  const found = (await http(srv.base, 'GET', near)).json.features[0];
  assert.equal(found.id, rep.facility_id, 'the very next nearest query finds it');
  const hist = execFileSync('sqlite3', [db.db, `SELECT change FROM facility_history WHERE facility_id = ${rep.facility_id}`], { encoding: 'utf8' });
  assert.match(hist, /"before":null,"after":\{.*新开的早餐店/);
});

test('overdue: dispatched past the deadline, filterable', async () => {
  const { id } = await create({ category: '200104' });
  await step(id, 'accept', 'centre');
  await step(id, 'dispatch', 'centre');
  assert.equal((await get(id)).overdue, false);
  execFileSync('sqlite3', [db.db, `UPDATE reports SET expected_at = strftime('%s','now') - 3600 WHERE id = ${id}`]);
  assert.equal((await get(id)).overdue, true);
  const list = await http(srv.base, 'GET', '/api/v1/reports?overdue=true&limit=1000&category=200104');
  assert.equal(list.status, 200);
  assert.ok(list.json.reports.some((r) => r.id === id));
  for (const r of list.json.reports) assert.ok(['dispatched', 'in_progress'].includes(r.status) && r.overdue);
  const filtered = await http(srv.base, 'GET', `/api/v1/reports?status=dispatched,in_progress&district=110101&kind=problem&bbox=116.3,39.8,116.5,40.0&limit=5`);
  assert.equal(filtered.status, 200, filtered.text);
  for (const r of filtered.json.reports) {
    assert.ok(['dispatched', 'in_progress'].includes(r.status));
    assert.equal(r.district, '110101');
  }
  assert.ok(HERE.lon);
});
