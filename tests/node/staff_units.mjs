// Units, officers and permissions by unit; per-app API keys (scopes, quota,
// expiry). Units are made with `mapd unit add` and POST /api/v1/units,
// officers with `mapd token add --role officer --unit U --name N`. An officer
// may start / report back only on a case dispatched to their unit (and, when
// the dispatch named an officer, only that officer): 403 otherwise, and the
// case does not move. The officer's queue lists their own cases by deadline.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { BIN, freshDb, http, report, serve, token } from './reports_lib.mjs';

let db, srv, tok;
const cli = (...args) => execFileSync(BIN, [args[0], args[1], '--db', db.db, ...args.slice(2)],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

before(async () => {
  db = freshDb();
  cli('unit', 'add', '--code', 'DC-HW', '--name', '东城区环卫中心', '--type', 'sanitation', '--district', '110101');
  cli('unit', 'add', '--code', 'XC-CG', '--name', '西城区城管执法队', '--type', 'urban_management');
  tok = {
    centre: token(db.db, 'centre'), admin: token(db.db, 'admin'), app: token(db.db, 'app'),
    legacy: token(db.db, 'officer'),
    a: cli('token', 'add', '--role', 'officer', '--unit', 'DC-HW', '--name', '张三'),
    b: cli('token', 'add', '--role', 'officer', '--unit', 'DC-HW', '--name', '李四'),
    c: cli('token', 'add', '--role', 'officer', '--unit', 'XC-CG', '--name', '王五'),
  };
  srv = await serve(db.db, ['--rate-limit', '0']);
});
after(async () => { await srv.stop(); db.remove(); });

const step = (id, who, json) => http(srv.base, 'POST', `/api/v1/reports/${id}/transitions`, { json, tok: tok[who] });
async function filed() {
  const r = await http(srv.base, 'POST', '/api/v1/reports', { json: report() });
  assert.equal(r.status, 201, r.text);
  assert.equal((await step(r.json.id, 'centre', { action: 'accept', note: '立案' })).status, 200);
  return r.json.id;
}

test('units and officers are data: CLI, list, add (admin only)', async () => {
  const listed = cli('unit', 'list');
  assert.match(listed, /DC-HW\t东城区环卫中心\tsanitation\t110101/);
  assert.match(listed, /officer \d+\t张三/);
  assert.equal((await http(srv.base, 'GET', '/api/v1/units')).status, 401);
  assert.equal((await http(srv.base, 'GET', '/api/v1/units', { tok: tok.app })).status, 403);
  const units = await http(srv.base, 'GET', '/api/v1/units', { tok: tok.a });
  assert.equal(units.status, 200, units.text);
  const dc = units.json.units.find((u) => u.code === 'DC-HW');
  assert.deepEqual(dc.officers.map((o) => o.name), ['张三', '李四']);
  const add = { code: 'CY-1', name: '朝阳区市政', unit_type: 'municipal' };
  assert.equal((await http(srv.base, 'POST', '/api/v1/units', { json: add, tok: tok.centre })).status, 403);
  const made = await http(srv.base, 'POST', '/api/v1/units', { json: add, tok: tok.admin });
  assert.equal(made.status, 201, made.text);
  assert.equal((await http(srv.base, 'POST', '/api/v1/units', { json: add, tok: tok.admin })).status, 409);
  const bad = await http(srv.base, 'POST', '/api/v1/units', { json: { code: 'a b', name: 'x' }, tok: tok.admin });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /unit code/);
  const off = await http(srv.base, 'POST', '/api/v1/units/CY-1/officers', { json: { name: '赵六' }, tok: tok.admin });
  assert.equal(off.status, 201, off.text);
  assert.equal((await http(srv.base, 'POST', '/api/v1/units/NOPE/officers', { json: { name: 'x' }, tok: tok.admin })).status, 404);
  const t = cli('token', 'add', '--role', 'officer', '--officer', String(off.json.id));
  assert.match(t, /^mdt_[0-9a-f]{64}$/);
  assert.match(cli('token', 'list'), /CY-1\t赵六/);
});

test('dispatch names a unit and optionally an officer; bad targets are 400', async () => {
  const id = await filed();
  for (const [body, re] of [
    [{ action: 'dispatch', unit: 'NOPE' }, /no unit 'NOPE'/],
    [{ action: 'dispatch', unit: 'XC-CG', officer: 1 }, /officer 1 is in unit DC-HW, not XC-CG/],
    [{ action: 'dispatch', officer: 1 }, /together with their unit/],
    [{ action: 'dispatch', unit: 'DC-HW', officer: 'x' }, /officer must be a positive officer id/],
  ]) {
    const r = await step(id, 'centre', body);
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error.message, re);
  }
  const other = await filed();
  const r = await step(other, 'centre', { action: 'park', unit: 'DC-HW' });
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /only for dispatch and rework/);
  assert.equal((await http(srv.base, 'GET', `/api/v1/reports/${id}`)).json.status, 'filed', 'nothing moved');
});

test('officers act only on cases dispatched to them or their unit', async () => {
  const toUnit = await filed();
  const toA = await filed();
  let r = await step(toUnit, 'centre', { action: 'dispatch', unit: 'DC-HW', note: '派遣至东城环卫' });
  assert.equal(r.status, 200, r.text);
  r = await step(toA, 'centre', { action: 'dispatch', unit: 'DC-HW', officer: 1, note: '派遣至张三' });
  assert.equal(r.status, 200, r.text);

  for (const [who, id, re] of [
    ['c', toUnit, /dispatched to unit DC-HW, not to yours \(XC-CG\)/],
    ['legacy', toUnit, /names no unit/],
    ['b', toA, /dispatched to officer 1 of your unit/],
  ]) {
    r = await step(id, who, { action: 'start' });
    assert.equal(r.status, 403, `${who}: ${r.text}`);
    assert.match(r.json.error.message, re);
    assert.equal((await http(srv.base, 'GET', `/api/v1/reports/${id}`)).json.status, 'dispatched');
  }
  // The queue: A sees both (by deadline), B only the unit's, C none.
  const q = async (who) => http(srv.base, 'GET', '/api/v1/officer/cases', { tok: tok[who] });
  const qa = await q('a');
  assert.equal(qa.status, 200, qa.text);
  const ids = qa.json.reports.map((x) => x.id);
  assert.ok(ids.includes(toUnit) && ids.includes(toA), JSON.stringify(ids));
  const deadlines = qa.json.reports.map((x) => Date.parse(x.expected_at));
  assert.deepEqual(deadlines, [...deadlines].sort((x, y) => x - y), 'by deadline');
  assert.equal(qa.json.reports.find((x) => x.id === toA).assignment.officer_name, '张三');
  assert.equal(qa.json.officer.unit, 'DC-HW');
  assert.ok(!(await q('b')).json.reports.some((x) => x.id === toA));
  assert.ok((await q('b')).json.reports.some((x) => x.id === toUnit));
  assert.deepEqual((await q('c')).json.reports, []);
  assert.equal((await q('centre')).status, 403);
  assert.equal((await q('legacy')).status, 403);

  // The right officers move them.
  assert.equal((await step(toUnit, 'b', { action: 'start', note: '到场' })).status, 200);
  assert.equal((await step(toA, 'a', { action: 'start' })).status, 200);
  r = await step(toA, 'a', { action: 'report_back', note: '已清理' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.report.status, 'handled');
  assert.equal((await step(toUnit, 'c', { action: 'report_back' })).status, 403);
  // Rework can send a case to another unit; then its officers may act.
  r = await step(toA, 'centre', { action: 'rework', unit: 'XC-CG', note: '转西城' });
  assert.equal(r.status, 200, r.text);
  assert.equal((await step(toA, 'a', { action: 'start' })).status, 403);
  assert.equal((await step(toA, 'c', { action: 'start' })).status, 200);
});

test('app keys: scopes, daily quota, expiry', async () => {
  const readOnly = cli('token', 'add', '--role', 'app', '--scopes', 'staff:read', '--label', 'viewer');
  let r = await http(srv.base, 'POST', '/api/v1/reports', { json: report(), tok: readOnly });
  assert.equal(r.status, 403);
  assert.match(r.json.error.message, /lacks the scope report:create/);
  const form = { service_code: '200102', lat: '39.909', long: '116.397', description: 'via Open311' };
  r = await http(srv.base, 'POST', '/open311/v2/requests.json', { form: { ...form, api_key: readOnly } });
  assert.equal(r.status, 403);

  const limited = cli('token', 'add', '--role', 'app', '--scopes', 'report:create', '--quota', '2');
  for (let i = 0; i < 2; i++) {
    r = await http(srv.base, 'POST', '/open311/v2/requests.json', { form: { ...form, api_key: limited } });
    assert.equal(r.status, 201, r.text);
  }
  r = await http(srv.base, 'POST', '/open311/v2/requests.json', { form: { ...form, api_key: limited } });
  assert.equal(r.status, 429, r.text);
  assert.ok(Number(r.headers.get('retry-after')) > 0);
  assert.match(cli('token', 'list'), /2\/day \(2 today\)/);

  const centreNoMove = cli('token', 'add', '--role', 'centre', '--scopes', 'report:create');
  const id = await filed();
  r = await http(srv.base, 'POST', `/api/v1/reports/${id}/transitions`, { json: { action: 'reject' }, tok: centreNoMove });
  assert.equal(r.status, 403);
  assert.match(r.json.error.message, /report:transition/);

  // Far enough ahead that the CLI (ASan, loaded machine) and the first request fit before it.
  const soonMs = Date.now() + 12000;
  const soon = new Date(soonMs).toISOString().replace(/\.\d+Z$/, 'Z');
  const expiring = cli('token', 'add', '--role', 'app', '--expires', soon);
  r = await http(srv.base, 'POST', '/open311/v2/requests.json', { form: { ...form, api_key: expiring } });
  assert.equal(r.status, 201, r.text);
  await new Promise((res) => setTimeout(res, Math.max(0, soonMs - Date.now()) + 1500));
  r = await http(srv.base, 'GET', '/api/v1/units', { tok: expiring });
  assert.equal(r.status, 401);
  assert.match(r.json.error.message, /expired/);
  assert.throws(() => cli('token', 'add', '--role', 'app', '--scopes', 'everything'), /unknown scope 'everything'/);
  assert.throws(() => cli('token', 'add', '--role', 'app', '--unit', 'DC-HW', '--name', 'x'), /for --role officer/);
});
