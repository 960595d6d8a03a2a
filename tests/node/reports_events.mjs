// GET /api/v1/events: Server-Sent Events with ids, resumable with
// Last-Event-ID across a restart, heartbeats, a subscriber cap (503 +
// Retry-After), and SIGTERM ends open streams instead of hanging the drain.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshDb, http, readEvents, report, serve, token } from './reports_lib.mjs';

test('events: live, resumable across restart, heartbeats, cap, clean SIGTERM', async () => {
  const db = freshDb();
  const centre = token(db.db, 'centre');
  let srv = await serve(db.db, ['--rate-limit', '0', '--event-heartbeat', '1', '--max-event-streams', '2']);
  try {
    const live = readEvents(`${srv.base}/api/v1/events`, { until: (ev) => ev.length >= 2, timeoutMs: 6000 });
    await new Promise((r) => setTimeout(r, 300));
    const a = (await http(srv.base, 'POST', '/api/v1/reports', { json: report() })).json;
    await http(srv.base, 'POST', `/api/v1/reports/${a.id}/transitions`, { json: { action: 'accept', note: '立案' }, tok: centre });
    const got = await live;
    assert.equal(got.status, 200);
    assert.match(got.headers.get('content-type'), /text\/event-stream/);
    assert.deepEqual(got.events.map((e) => e.event), ['report.created', 'report.transitioned']);
    assert.ok(got.events[1].id > got.events[0].id);
    assert.equal(got.events[1].data.report.status, 'filed');
    assert.equal(got.events[1].data.note, '立案');

    const beats = await readEvents(`${srv.base}/api/v1/events`, { until: (ev, raw) => raw.includes(': ping'), timeoutMs: 4000 });
    assert.match(beats.raw, /: ping/, 'heartbeat comment within the interval');

    // Cap: two streams open, the third is refused. The two streams above
    // were dropped by this client; the next heartbeat finds them gone.
    await new Promise((r) => setTimeout(r, 2500));
    const ctrl = [new AbortController(), new AbortController()];
    const open = await Promise.all(ctrl.map((c) => fetch(`${srv.base}/api/v1/events`, { signal: c.signal })));
    assert.deepEqual(open.map((r) => r.status), [200, 200]);
    const third = await http(srv.base, 'GET', '/api/v1/events');
    assert.equal(third.status, 503);
    assert.ok(third.headers.get('retry-after'));

    // SIGTERM with streams open: the server drains and exits 0 promptly.
    const t0 = Date.now();
    const st = await srv.stop();
    assert.equal(st.code, 0);
    assert.ok(Date.now() - t0 < 5000, `drain took ${Date.now() - t0} ms`);
    for (const c of ctrl) c.abort();

    // Restart: Last-Event-ID replays what came after it, from the database.
    srv = await serve(db.db, ['--rate-limit', '0']);
    const b = (await http(srv.base, 'POST', '/api/v1/reports', { json: report({ description: 'after restart' }) })).json;
    const replay = await readEvents(`${srv.base}/api/v1/events`, { headers: { 'Last-Event-ID': String(got.events[0].id) },
      until: (ev) => ev.some((e) => e.data.report.id === b.id) });
    assert.deepEqual(replay.events.map((e) => e.event), ['report.transitioned', 'report.created']);
    assert.equal(replay.events[0].id, got.events[1].id);
    const bad = await http(srv.base, 'GET', '/api/v1/events', { headers: { 'Last-Event-ID': 'x' } });
    assert.equal(bad.status, 400);
  } finally {
    await srv.stop();
    db.remove();
  }
});

test('events: filtered by report, district, category and status, live and replayed', async () => {
  const db = freshDb();
  const centre = token(db.db, 'centre');
  const srv = await serve(db.db, ['--rate-limit', '0']);
  try {
    const first = (await http(srv.base, 'POST', '/api/v1/reports', { json: report() })).json;
    const district = first.district;
    // Live: only category 200104 events; only events of one report.
    const byCat = readEvents(`${srv.base}/api/v1/events?category=200104,200101`, { until: (ev) => ev.length >= 1, timeoutMs: 6000 });
    const byReport = readEvents(`${srv.base}/api/v1/events?report=${first.id}`, { until: (ev) => ev.length >= 1, timeoutMs: 6000 });
    const byStatus = readEvents(`${srv.base}/api/v1/events?status=filed&district=${district}`, { until: (ev) => ev.length >= 1, timeoutMs: 6000 });
    await new Promise((r) => setTimeout(r, 300));
    const other = (await http(srv.base, 'POST', '/api/v1/reports', { json: report({ category: '200104' }) })).json;
    await http(srv.base, 'POST', `/api/v1/reports/${first.id}/transitions`, { json: { action: 'accept', note: 'ok' }, tok: centre });
    const [c, r, s] = await Promise.all([byCat, byReport, byStatus]);
    assert.deepEqual(c.events.map((e) => [e.event, e.data.report.id]), [['report.created', other.id]]);
    assert.deepEqual(r.events.map((e) => [e.event, e.data.report.id]), [['report.transitioned', first.id]]);
    assert.deepEqual(s.events.map((e) => [e.event, e.data.report.status]), [['report.transitioned', 'filed']]);
    // Replayed from the database with Last-Event-ID: the same filter applies.
    const replay = await readEvents(`${srv.base}/api/v1/events?report=${other.id}`, {
      headers: { 'Last-Event-ID': '0' }, until: (ev) => ev.length >= 1, timeoutMs: 4000 });
    assert.ok(replay.events.length >= 1);
    assert.ok(replay.events.every((e) => e.data.report.id === other.id));
    for (const [q, text] of [['report=0', 'report'], ['district=999999', 'unknown district'],
      ['category=123456', 'unknown category'], ['status=done', 'not a report status'], ['x=1', 'unknown query parameter']]) {
      const bad = await http(srv.base, 'GET', `/api/v1/events?${q}`);
      assert.equal(bad.status, 400, q);
      assert.match(bad.text ?? JSON.stringify(bad.json), new RegExp(text), q);
    }
  } finally {
    await srv.stop();
    db.remove();
  }
});
