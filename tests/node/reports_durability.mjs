// Durability (SPEC §9): many clients create reports concurrently; the server
// is killed with SIGKILL in the middle; after a restart every report that
// got a 201 is there (by id and by its token), the database opens, and the
// events of those reports survived too (Last-Event-ID replay).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HERE, freshDb, http, readEvents, serve } from './reports_lib.mjs';

const CLIENTS = 32;

test('every 201 survives kill -9 mid-stream', async () => {
  const db = freshDb();
  let srv = await serve(db.db, ['--rate-limit', '0']);
  const acked = [];
  let stop = false, transportErrors = 0, other = 0;
  async function client(n) {
    for (let i = 0; !stop; i++) {
      try {
        const r = await http(srv.base, 'POST', '/api/v1/reports', { json: {
          category: '200104', lon: HERE.lon + (n % 8) * 0.001, lat: HERE.lat + (i % 8) * 0.0005,
          description: `durability client ${n} #${i}`,
        } });
        if (r.status === 201) acked.push({ id: r.json.id, token: r.json.token, n, i });
        else other++;
      } catch {
        transportErrors++;
      }
    }
  }
  const running = Array.from({ length: CLIENTS }, (_, n) => client(n));
  // Kill once enough creates are acknowledged (not after a fixed time: a loaded
  // machine acknowledges fewer per second), at most 60 s.
  for (const t0 = Date.now(); acked.length <= 100 && Date.now() - t0 < 60000;) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const killed = await srv.kill();
  stop = true;
  await Promise.all(running);
  assert.equal(killed.sig, 'SIGKILL');
  assert.ok(acked.length > 50, `enough reports were acknowledged before the kill (${acked.length})`);
  assert.equal(other, 0, 'no non-201 answers before the kill');

  srv = await serve(db.db);
  try {
    const health = await http(srv.base, 'GET', '/health');
    assert.equal(health.status, 200);
    const missing = [];
    for (const a of acked) {
      const r = await http(srv.base, 'GET', `/api/v1/reports/${a.id}`);
      if (r.status !== 200 || r.json.description !== `durability client ${a.n} #${a.i}`) missing.push(a.id);
    }
    assert.deepEqual(missing, [], `acknowledged reports lost after kill -9: ${missing.length} of ${acked.length}`);
    for (const a of acked.slice(0, 20)) {
      const t = await http(srv.base, 'GET', `/open311/v2/tokens/${a.token}.json`);
      assert.equal(t.status, 200);
      assert.equal(t.json[0].service_request_id, String(a.id));
    }
    // Each acknowledged report's created event is in the log and replays.
    const want = new Set(acked.map((a) => a.id));
    const firstId = Math.min(...want);
    const { events } = await readEvents(`${srv.base}/api/v1/events`, {
      headers: { 'Last-Event-ID': '0' },
      until: (ev) => ev.filter((e) => want.has(e.data.report.id)).length >= Math.min(want.size, 900),
      timeoutMs: 10000,
    });
    const replayed = new Set(events.filter((e) => e.event === 'report.created').map((e) => e.data.report.id));
    for (const id of [...want].filter((id) => id < firstId + 800)) assert.ok(replayed.has(id), `event for ${id}`);
  } finally {
    const st = await srv.stop();
    assert.equal(st.code, 0);
    db.remove();
  }
  console.log(`# ${acked.length} acknowledged, ${transportErrors} cut off by the kill`);
});
