// Webhooks (issue 17): a local receiver on loopback gets signed deliveries
// (HMAC-SHA256 checked here with node:crypto), only those its filter takes,
// never the reporter's contact; a receiver that fails twice with 500 gets the
// delivery on the third attempt and the delivery log shows it; pending
// deliveries survive a restart; bad subscriptions are 400 naming the field,
// and only app/centre/admin tokens with webhook:manage may subscribe; a
// delivery that keeps failing is given up after --webhook-max-attempts.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { BIN, freshDb, http, report, serve, token } from './reports_lib.mjs';

const PHONE = '13911223344';
const EMAIL = 'hook.probe.5150@example.cn';
const NAME = '回调探针';
const CONTACT = { phone: PHONE, email: EMAIL, name: NAME, device_id: 'hook-device-8812' };
const CHAOYANG = { lon: 116.48, lat: 39.934 }; // district 110105, outside the filter

// A receiver: `plan(path, n)` answers the n-th request (1-based) on a path.
async function receiver(plan = () => 200) {
  const got = [];
  const srv = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const n = got.filter((g) => g.path === req.url).length + 1;
      got.push({ path: req.url, method: req.method, headers: req.headers, raw, body: JSON.parse(raw) });
      res.writeHead(plan(req.url, n), { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${srv.address().port}`, got, close: () => new Promise((r) => srv.close(r)) };
}

async function until(what, fn, timeoutMs = 8000) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function verify(delivery, secret) {
  const ts = delivery.headers['x-mapd-timestamp'];
  const sig = delivery.headers['x-mapd-signature'];
  assert.match(ts, /^\d+$/);
  assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 60, 'timestamp is now');
  const want = createHmac('sha256', secret).update(`${ts}.${delivery.raw}`).digest('hex');
  assert.equal(sig, `sha256=${want}`, 'signature verifies');
  assert.equal(delivery.method, 'POST');
  assert.match(delivery.headers['content-type'], /^application\/json/);
  assert.equal(delivery.headers['x-mapd-event'], delivery.body.event);
  assert.match(delivery.headers['x-mapd-delivery'], /^\d+$/);
}

function noContact(delivery) {
  for (const s of [PHONE, EMAIL, NAME, 'hook-device-8812', '5150@', '11223344'])
    assert.ok(!delivery.raw.includes(s), `delivery leaks ${s}`);
  for (const k of ['contact', 'phone', 'email', 'device_id', 'client_addr'])
    assert.ok(!(k in delivery.body.report), `report has ${k}`);
}

test('webhooks: signed, filtered, retried, logged, private; bad input and roles', async () => {
  const db = freshDb();
  const app = token(db.db, 'app');
  const centre = token(db.db, 'centre');
  const admin = token(db.db, 'admin');
  const officer = token(db.db, 'officer');
  const noScope = execFileSync(BIN, ['token', 'add', '--db', db.db, '--role', 'app', '--scopes', 'report:create',
    '--label', 'no webhooks'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const rx = await receiver((path, n) => (path === '/flaky' && n <= 2 ? 500 : 200));
  let srv = await serve(db.db, ['--rate-limit', '0', '--webhook-retry-base-ms', '100']);
  try {
    const hook = (json, tok = app) => http(srv.base, 'POST', '/api/v1/webhooks', { json, tok });

    // Who may subscribe.
    assert.equal((await hook({ url: `${rx.url}/ok` }, null)).status, 401);
    assert.equal((await hook({ url: `${rx.url}/ok` }, officer)).status, 403);
    const scoped = await hook({ url: `${rx.url}/ok` }, noScope);
    assert.equal(scoped.status, 403);
    assert.match(scoped.json.error.message, /webhook:manage/);
    assert.equal((await http(srv.base, 'GET', '/api/v1/webhooks')).status, 401);

    // Bad subscriptions: 400 naming what is wrong.
    for (const [json, text] of [
      [{}, /url/],
      [{ url: 'ftp://127.0.0.1/x' }, /url/],
      [{ url: 'http://' }, /url/],
      [{ url: 'not a url' }, /url/],
      [{ url: `${rx.url}/ok`, secret: 'short' }, /secret/],
      [{ url: `${rx.url}/ok`, district: '999999' }, /unknown district/],
      [{ url: `${rx.url}/ok`, category: '200102,123456' }, /unknown category/],
      [{ url: `${rx.url}/ok`, status: 'done' }, /not a report status/],
      [{ url: `${rx.url}/ok`, report: 0 }, /report/],
      [{ url: `${rx.url}/ok`, report: 999999999 }, /report 999999999 does not exist/],
      [{ url: `${rx.url}/ok`, colour: 'red' }, /colour/],
    ]) {
      const r = await hook(json);
      assert.equal(r.status, 400, `${JSON.stringify(json)}: ${r.text}`);
      assert.match(r.json.error.message, text, JSON.stringify(json));
    }

    // A: Dongcheng's 暴露垃圾 (200102), with our secret. B: category 200104, secret made by mapd.
    const SECRET = 'test-secret-0123456789abcdef';
    const a = await hook({ url: `${rx.url}/ok`, secret: SECRET, district: '110101', category: '200102' });
    assert.equal(a.status, 201, a.text);
    assert.equal(a.json.secret, SECRET);
    assert.equal(a.headers.get('location'), `/api/v1/webhooks/${a.json.id}`);
    assert.deepEqual([a.json.district, a.json.category, a.json.status, a.json.report], ['110101', '200102', null, null]);
    const b = await hook({ url: `${rx.url}/flaky`, category: '200104' }, centre);
    assert.equal(b.status, 201, b.text);
    assert.match(b.json.secret, /^whsec_[0-9a-f]{64}$/);

    // The secret is shown once: never by GET.
    const one = await http(srv.base, 'GET', `/api/v1/webhooks/${a.json.id}`, { tok: app });
    assert.equal(one.status, 200);
    assert.ok(!('secret' in one.json) && !one.text.includes(SECRET));

    // Reports in and out of the filters, each with the reporter's contact.
    const post = async (extra) => {
      const r = await http(srv.base, 'POST', '/api/v1/reports', { json: report({ contact: CONTACT, ...extra }) });
      assert.equal(r.status, 201, r.text);
      return r.json;
    };
    const inA = await post({});
    const inB = await post({ category: '200104' });
    const outside = await post({ ...CHAOYANG });
    assert.equal(inA.district, '110101');
    assert.notEqual(outside.district, '110101');
    const accepted = await http(srv.base, 'POST', `/api/v1/reports/${inA.id}/transitions`,
      { json: { action: 'accept', note: '立案' }, tok: centre });
    assert.equal(accepted.status, 200, accepted.text);

    const okGot = () => rx.got.filter((g) => g.path === '/ok');
    const flakyGot = () => rx.got.filter((g) => g.path === '/flaky');
    await until('A gets two deliveries', () => okGot().length >= 2);
    await until('B gets its delivery on the third attempt', () => flakyGot().length >= 3);
    await new Promise((r) => setTimeout(r, 800)); // nothing else arrives

    assert.deepEqual(okGot().map((g) => [g.body.event, g.body.report.id, g.body.report.status]),
      [['report.created', inA.id, 'reported'], ['report.transitioned', inA.id, 'filed']]);
    assert.equal(okGot()[1].body.note, '立案');
    assert.ok(okGot().every((g) => typeof g.body.id === 'number'));
    for (const g of okGot()) { verify(g, SECRET); noContact(g); }

    assert.equal(flakyGot().length, 3, 'two failures, then delivered, then nothing more');
    assert.deepEqual(flakyGot().map((g) => g.body.report.id), [inB.id, inB.id, inB.id]);
    const ids = new Set(flakyGot().map((g) => g.headers['x-mapd-delivery']));
    assert.equal(ids.size, 1, 'every attempt is the same delivery');
    for (const g of flakyGot()) { verify(g, b.json.secret); noContact(g); }
    assert.ok(!rx.got.some((g) => g.body.report.id === outside.id), 'the Chaoyang report went nowhere');

    // The delivery log.
    const log = await until('B logged delivered', async () => {
      const r = await http(srv.base, 'GET', `/api/v1/webhooks/${b.json.id}/deliveries`, { tok: centre });
      return r.json?.deliveries?.[0]?.status === 'delivered' ? r : null;
    });
    assert.equal(log.status, 200);
    assert.equal(log.json.deliveries.length, 1);
    const d = log.json.deliveries[0];
    assert.equal(String(d.id), [...ids][0]);
    assert.deepEqual([d.event, d.attempts, d.last_http_status, d.last_error, d.next_attempt_at],
      ['report.created', 3, 200, null, null]);
    const logA = await http(srv.base, 'GET', `/api/v1/webhooks/${a.json.id}/deliveries?limit=1`, { tok: app });
    assert.equal(logA.status, 200);
    assert.deepEqual(logA.json.deliveries.map((x) => [x.event, x.status, x.attempts]), [['report.transitioned', 'delivered', 1]]);
    assert.equal((await http(srv.base, 'GET', `/api/v1/webhooks/${a.json.id}/deliveries?limit=0`, { tok: app })).status, 400);
    assert.equal((await http(srv.base, 'GET', `/api/v1/webhooks/${a.json.id}/deliveries?x=1`, { tok: app })).status, 400);

    // Whose webhooks: the app sees its own, the centre its own, an admin all.
    const ids0 = async (tok) => (await http(srv.base, 'GET', '/api/v1/webhooks', { tok })).json.webhooks.map((w) => w.id);
    assert.deepEqual(await ids0(app), [a.json.id]);
    assert.deepEqual(await ids0(centre), [b.json.id]);
    assert.deepEqual(await ids0(admin), [a.json.id, b.json.id]);
    const listed = await http(srv.base, 'GET', '/api/v1/webhooks', { tok: app });
    assert.deepEqual(listed.json.webhooks[0].deliveries, { pending: 0, delivered: 2, failed: 0 });
    assert.equal((await http(srv.base, 'GET', `/api/v1/webhooks/${b.json.id}`, { tok: app })).status, 404);
    assert.equal((await http(srv.base, 'GET', '/api/v1/webhooks/abc', { tok: app })).status, 404);

    // Pending deliveries survive a restart: the receiver is down when an
    // event comes in, mapd restarts, the receiver comes back and gets it.
    let up = false;
    const down = await receiver(() => (up ? 200 : 503));
    const c = await hook({ url: `${down.url}/later`, secret: SECRET, report: inA.id });
    assert.equal(c.status, 201, c.text);
    const me = await http(srv.base, 'POST', `/api/v1/reports/${inA.id}/supporters`, { json: { device: 'webhook-test-device-0001' } });
    assert.equal(me.status, 201, me.text);
    await until('a failed attempt', () => down.got.length >= 1);
    const st = await srv.stop();
    assert.equal(st.code, 0, 'SIGTERM exits 0');
    srv = await serve(db.db, ['--rate-limit', '0', '--webhook-retry-base-ms', '100']);
    const pending = (await http(srv.base, 'GET', `/api/v1/webhooks/${c.json.id}/deliveries`, { tok: app })).json.deliveries;
    assert.equal(pending.length, 1, JSON.stringify(pending));
    assert.equal(pending[0].status, 'pending');
    assert.equal(pending[0].last_http_status, 503);
    assert.equal(pending[0].last_error, 'HTTP 503');
    assert.ok(pending[0].attempts >= 1 && pending[0].next_attempt_at);
    up = true;
    const later = await until('delivered after the restart', async () => {
      const r = await http(srv.base, 'GET', `/api/v1/webhooks/${c.json.id}/deliveries`, { tok: app });
      return r.json.deliveries[0].status === 'delivered' ? r.json.deliveries[0] : null;
    }, 15000);
    assert.equal(later.event, 'report.supported');
    const last = down.got[down.got.length - 1];
    verify(last, SECRET);
    noContact(last);
    assert.equal(last.body.report.id, inA.id);

    // Delete: not someone else's, then one's own; the log goes with it.
    assert.equal((await http(srv.base, 'DELETE', `/api/v1/webhooks/${a.json.id}`, { tok: centre })).status, 404);
    assert.equal((await http(srv.base, 'DELETE', `/api/v1/webhooks/${a.json.id}`, { tok: app })).status, 204);
    assert.equal((await http(srv.base, 'GET', `/api/v1/webhooks/${a.json.id}`, { tok: app })).status, 404);
    assert.equal((await http(srv.base, 'GET', `/api/v1/webhooks/${a.json.id}/deliveries`, { tok: app })).status, 404);
    assert.equal((await http(srv.base, 'DELETE', `/api/v1/webhooks/${a.json.id}/deliveries`, { tok: app })).status, 405);
    await down.close();
  } finally {
    const st = await srv.stop();
    assert.equal(st.code, 0);
    await rx.close();
    db.remove();
  }
});

test('webhooks: given up after --webhook-max-attempts, refused connections logged', async () => {
  const db = freshDb();
  const app = token(db.db, 'app');
  const rx = await receiver(() => 500);
  const closed = await receiver();
  await closed.close(); // nothing listens on its port any more
  const srv = await serve(db.db, ['--rate-limit', '0', '--webhook-retry-base-ms', '50', '--webhook-max-attempts', '3']);
  try {
    const mk = async (url) => {
      const r = await http(srv.base, 'POST', '/api/v1/webhooks', { json: { url, category: '200102' }, tok: app });
      assert.equal(r.status, 201, r.text);
      return r.json.id;
    };
    const failing = await mk(`${rx.url}/fail`);
    const refused = await mk(`${closed.url}/gone`);
    const r = await http(srv.base, 'POST', '/api/v1/reports', { json: report() });
    assert.equal(r.status, 201, r.text);
    const logOf = async (id) => (await http(srv.base, 'GET', `/api/v1/webhooks/${id}/deliveries`, { tok: app })).json.deliveries;
    const [f, g] = await until('both failed', async () => {
      const a = await logOf(failing), b = await logOf(refused);
      return a[0]?.status === 'failed' && b[0]?.status === 'failed' ? [a[0], b[0]] : null;
    });
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(rx.got.length, 3, 'three attempts, then no more');
    assert.deepEqual([f.attempts, f.last_http_status, f.last_error, f.next_attempt_at], [3, 500, 'HTTP 500', null]);
    assert.deepEqual([g.attempts, g.last_http_status, g.next_attempt_at], [3, null, null]);
    assert.match(g.last_error, /connect|refused/i);
    const hook = (await http(srv.base, 'GET', `/api/v1/webhooks/${failing}`, { tok: app })).json;
    assert.deepEqual(hook.deliveries, { pending: 0, delivered: 0, failed: 1 });
  } finally {
    assert.equal((await srv.stop()).code, 0);
    await rx.close();
    db.remove();
  }
});

test('webhooks: SIGTERM during a delivery to a receiver that never answers exits 0 at once', async () => {
  const db = freshDb();
  const app = token(db.db, 'app');
  const seen = [];
  const hang = createServer((req) => { seen.push(req.url); }); // never answers
  await new Promise((r) => hang.listen(0, '127.0.0.1', r));
  const srv = await serve(db.db, ['--rate-limit', '0']);
  try {
    const w = await http(srv.base, 'POST', '/api/v1/webhooks',
      { json: { url: `http://127.0.0.1:${hang.address().port}/slow` }, tok: app });
    assert.equal(w.status, 201, w.text);
    assert.equal((await http(srv.base, 'POST', '/api/v1/reports', { json: report() })).status, 201);
    await until('the delivery under way', () => seen.length >= 1);
    const t0 = Date.now();
    const st = await srv.stop();
    assert.equal(st.code, 0);
    assert.ok(Date.now() - t0 < 3000, `stop took ${Date.now() - t0} ms (the transfer's limit is 10 s)`);
  } finally {
    hang.closeAllConnections?.();
    await new Promise((r) => hang.close(r));
    db.remove();
  }
});
