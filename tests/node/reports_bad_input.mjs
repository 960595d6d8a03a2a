// Bad input: wrong types, missing fields, lat 91, NaN, invalid UTF-8, a 5 MB
// body, unknown categories, SQL-looking strings, bad tokens and paths. Each
// gets a clear 4xx naming the problem; nothing is written (row counts and
// the event log unchanged); the server stays up. Rate limiting answers 429
// with Retry-After.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { HERE, freshDb, http, report, serve, token } from './reports_lib.mjs';

let db, srv, centre;
before(async () => {
  db = freshDb();
  centre = token(db.db, 'centre');
  srv = await serve(db.db, ['--rate-limit', '0']);
});
after(async () => {
  const st = await srv.stop();
  assert.equal(st.code, 0, 'clean shutdown after all the abuse');
  db.remove();
});

const counts = () => execFileSync('sqlite3', [db.db,
  'SELECT (SELECT count(*) FROM reports), (SELECT count(*) FROM report_history), (SELECT count(*) FROM report_contacts), (SELECT count(*) FROM events)'],
{ encoding: 'utf8' }).trim();

async function refused(body, status, msg, { path = '/api/v1/reports', raw = false, tok, headers } = {}) {
  const r = raw ? await http(srv.base, 'POST', path, { body, tok, headers: { 'Content-Type': 'application/json', ...headers } })
    : await http(srv.base, 'POST', path, { json: body, tok });
  assert.equal(r.status, status, `${JSON.stringify(body)?.slice(0, 120)} -> ${r.status} ${r.text.slice(0, 300)}`);
  assert.ok(r.json?.error?.code, r.text);
  if (msg) assert.match(r.json.error.message, msg);
  return r;
}

test('bad JSON bodies: 4xx naming the field, nothing written', async () => {
  const before = counts();
  const cases = [
    [report({ lat: '39.9' }), 400, /lat must be a number/],
    [report({ lon: null }), 400, /lon must be a number/],
    [report({ category: 200102 }), 400, /category must be a string/],
    [report({ description: 5 }), 400, /description must be a string/],
    [report({ media_urls: 'https://x.cn/a.jpg' }), 400, /media_urls must be an array/],
    [report({ media_urls: ['javascript:alert(1)'] }), 400, /media_urls\[0\].*http/],
    [report({ media_urls: Array(11).fill('https://x.cn/a.jpg') }), 400, /more than 10/],
    [report({ contact: 'me' }), 400, /contact must be an object/],
    [report({ contact: { phone: "1' OR '1'='1" } }), 400, /contact.phone/],
    [report({ contact: { ssn: '1' } }), 400, /unknown field 'ssn' in contact/],
    [report({ extra: 1 }), 400, /unknown field 'extra'/],
    [{ lon: HERE.lon, lat: HERE.lat }, 400, /category is required/],
    [{ category: '200102', lon: HERE.lon }, 400, /lat is required/],
    [report({ lat: 91 }), 400, /lat 91 is outside -90..90/],
    [report({ lon: -181 }), 400, /lon -181 is outside/],
    [report({ lat: 1e400 }), 400, /lat|JSON/],
    [report({ description: 'x'.repeat(4001) }), 400, /description is longer than 4000/],
    [report({ category: '999999' }), 422, /999999.*not a known/],
    [report({ category: "200102' OR 1=1 --" }), 400, /category/],
    [report({ category: '900001' }), 422, /correction/],
    [report({ lon: 0.5, lat: 0.5 }), 422, /outside every district/],
    [report({ lon: 121.47, lat: 31.23 }), 422, /outside every district/],
    [report({ category: '200401' }), 400, /attribute size is required/],
    [report({ category: '200401', attributes: { size: 'huge' } }), 400, /size must be one of/],
    [report({ attributes: { '; DROP TABLE reports': 'x' } }), 400, /has no attribute/],
    [report({ kind: 'meteor' }), 400, /kind/],
    [report({ channel: 'hotline' }), 403, /staff/],
    [[report()], 400, /must be a JSON object/],
  ];
  for (const [body, status, msg] of cases) await refused(body, status, msg);
  for (const [raw, msg] of [
    ['{"category":"200102","lon":116.397,"lat":NaN}', /not valid JSON/],
    ['{"category":"200102","lon":116.397,"lat":Infinity}', /not valid JSON/],
    ['{"category":"200102","lon":116.397,"lat":39.9,"lat":39.8}', /not valid JSON.*duplicate/],
    ['{"category":"200102","lon":116.397,"lat":39.9', /not valid JSON/],
    ['', /body is required/],
    ['{"category":"200102","lon":116.397,"lat":39.9,"description":"a\\u0000b"}', /not valid JSON/],
  ]) await refused(raw, 400, msg, { raw: true });
  const badUtf8 = Buffer.concat([Buffer.from('{"category":"200102","lon":116.397,"lat":39.909,"description":"'),
    Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('"}')]);
  await refused(badUtf8, 400, /not valid JSON.*(UTF-8|decode)/i, { raw: true });
  assert.equal(counts(), before, 'nothing was written');
});

// curl, like real clients, reads the early 413 while still sending.
function curlPost(url, file, type) {
  const out = execFileSync('curl', ['-s', '-H', `Content-Type: ${type}`, '-H', 'Expect:', '--data-binary', `@${file}`,
    '-w', '\n%{http_code}', url], { encoding: 'utf8' });
  const i = out.lastIndexOf('\n');
  return { status: Number(out.slice(i + 1)), text: out.slice(0, i) };
}

test('a 5 MB body is refused with 413 before it is read', async () => {
  const before = counts();
  const file = `${db.dir}/big.json`;
  writeFileSync(file, JSON.stringify(report({ description: 'x'.repeat(5 * 1024 * 1024) })));
  const r = curlPost(`${srv.base}/api/v1/reports`, file, 'application/json');
  assert.equal(r.status, 413);
  assert.match(JSON.parse(r.text).error.message, /exceeds the limit/);
  writeFileSync(file, 'description=' + 'y'.repeat(5 * 1024 * 1024));
  const o = curlPost(`${srv.base}/open311/v2/requests.json`, file, 'application/x-www-form-urlencoded');
  assert.equal(o.status, 413);
  assert.equal(counts(), before);
  assert.equal((await http(srv.base, 'GET', '/health')).status, 200);
});

test('SQL-looking strings are data: stored verbatim, tables intact', async () => {
  const evil = "'); DROP TABLE reports; -- \" OR 1=1 /* 路面 */";
  const r = await http(srv.base, 'POST', '/api/v1/reports', { json: report({ description: evil, address: evil }) });
  assert.equal(r.status, 201, r.text);
  const back = await http(srv.base, 'GET', `/api/v1/reports/${r.json.id}`);
  assert.equal(back.json.description, evil);
  assert.equal(back.json.address, evil);
  const before = counts();
  for (const p of ["/api/v1/reports?status=open' OR '1'='1", "/api/v1/reports?category=1) OR (1=1",
    '/api/v1/reports?district=110101%27%3B--&limit=1', "/api/v1/reports?limit=1;DELETE", '/api/v1/reports?bbox=1,2,3',
    '/api/v1/reports?from=yesterday', '/api/v1/reports?overdue=maybe', '/api/v1/reports?kind=x']) {
    const q = await http(srv.base, 'GET', p);
    assert.ok(q.status === 400 || (q.status === 200 && q.json.reports.length === 0), `${p}: ${q.status}`);
    if (q.status === 400) assert.ok(q.json.error.message);
  }
  for (const p of ['/api/v1/reports/1%20OR%201=1', '/api/v1/reports/-1', '/api/v1/reports/0', '/api/v1/reports/99999999999999999999',
    '/api/v1/reports/1/nothing']) {
    assert.equal((await http(srv.base, 'GET', p)).status, 404, p);
  }
  assert.equal(counts(), before);
});

test('transitions: bad tokens, bodies and ids are refused without a change', async () => {
  const { json: { id } } = await http(srv.base, 'POST', '/api/v1/reports', { json: report() });
  const before = counts();
  const t = (body, tok, status, msg, rid = id) => refused(body, status, msg, { path: `/api/v1/reports/${rid}/transitions`, tok });
  await t({ action: 'accept' }, undefined, 401, /token/);
  await t({ action: 'accept' }, 'not-a-token', 401, /malformed/);
  await t({ action: 'accept' }, 'mdt_' + '0'.repeat(64), 401, /unknown token/);
  await t({ action: 'explode' }, centre, 400, /action must be one of/);
  await t({ action: 5 }, centre, 400, /action must be a string/);
  await t({}, centre, 400, /action is required/);
  await t({ action: 'accept', note: 'n'.repeat(1001) }, centre, 400, /note is longer/);
  await t({ action: 'accept', into: 3 }, centre, 400, /into is only for the merge/);
  await t({ action: 'accept', who: 'me' }, centre, 400, /unknown field/);
  await t({ action: 'accept' }, centre, 404, /does not exist/, 999999999);
  assert.equal(counts(), before);
  const r = await http(srv.base, 'POST', `/api/v1/reports/${id}/transitions`, { json: { action: 'accept' }, tok: centre });
  assert.equal(r.status, 200);
});

test('Open311 forms: bad encoding and types give Open311 400s', async () => {
  const app = token(db.db, 'app');
  const before = counts();
  for (const [body, msg] of [
    [`api_key=${app}&service_code=200102&lat=abc&long=116.4`, /lat must be/],
    [`api_key=${app}&service_code=200102&lat=NaN&long=116.4`, /lat must be/],
    [`api_key=${app}&service_code=200102&lat=39.9&long=116.4&description=%ZZ`, /badly encoded/],
    [`api_key=${app}&service_code=200102&lat=39.9&long=116.4&description=%C3%28`, /not UTF-8/],
    [`api_key=${app}&service_code=200102&lat=39.9&long=116.4&description=a%00b`, /badly encoded/],
    [`api_key=${app}&service_code=2001&lat=39.9&long=116.4`, /6-digit/],
  ]) {
    const r = await http(srv.base, 'POST', '/open311/v2/requests.json', { body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 400, `${body}: ${r.text}`);
    assert.match(r.json[0].description, msg);
  }
  const j = await http(srv.base, 'POST', '/open311/v2/requests.json', { json: { service_code: '200102' } });
  assert.equal(j.status, 400);
  assert.equal(counts(), before);
});

test('rate limit: 429 with Retry-After, per client', async () => {
  const own = freshDb();
  const limited = await serve(own.db, ['--rate-limit', '3']);
  try {
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await http(limited.base, 'POST', '/api/v1/reports', { json: report() })).status);
    assert.deepEqual(codes, [201, 201, 201, 429, 429]);
    const r = await http(limited.base, 'POST', '/api/v1/reports', { json: report() });
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.match(r.json.error.message, /at most 3 a minute/);
    assert.equal((await http(limited.base, 'GET', '/api/v1/reports?limit=1')).status, 200, 'reads are not limited');
  } finally {
    await limited.stop();
    own.remove();
  }
});
