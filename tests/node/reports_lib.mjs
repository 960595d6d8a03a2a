// Helpers for the reports/Open311/events node tests: a server over a private
// copy of the fixture DB that can be SIGKILLed and restarted on the same
// file, API tokens made with `mapd token add`, and small HTTP wrappers.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const BIN = process.env.MAPD_BIN;
// A point in Dongcheng (110101), inside the sample city.
export const HERE = { lon: 116.397, lat: 39.909 };

export function freshDb() {
  const dir = mkdtempSync(join(tmpdir(), 'mapd-reports-'));
  const db = join(dir, 'db.sqlite');
  copyFileSync(process.env.MAPD_FIXTURE_DB, db);
  return { dir, db, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function serve(db, extraArgs = []) {
  const proc = spawn(BIN, ['serve', '--db', db, '--port', '0', '--quiet', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout });
    rl.once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`mapd exited ${code} before serving`)));
  });
  const m = /http:\/\/[^/]+/.exec(line);
  if (!m) throw new Error(`unexpected first line: ${line}`);
  const exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve({ code, sig })));
  return {
    base: m[0],
    proc,
    exited,
    async stop() { proc.kill('SIGTERM'); return exited; },
    async kill() { proc.kill('SIGKILL'); return exited; },
  };
}

export function token(db, role) {
  return execFileSync(BIN, ['token', 'add', '--db', db, '--role', role, '--label', `test ${role}`],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

// fetch wrapper: { status, headers, text, json, bytes }.
export async function http(base, method, path, { json, body, tok, headers = {}, form } = {}) {
  const h = { ...headers };
  let payload = body;
  if (json !== undefined) { payload = JSON.stringify(json); h['Content-Type'] = 'application/json'; }
  if (form !== undefined) {
    payload = new URLSearchParams(form).toString();
    h['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  if (tok) h.Authorization = `Bearer ${tok}`;
  const res = await fetch(base + path, { method, headers: h, body: payload });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  let parsed;
  try { parsed = JSON.parse(text); } catch { parsed = undefined; }
  return { status: res.status, headers: res.headers, text, json: parsed, bytes };
}

export function report(extra = {}) {
  return { category: '200102', lon: HERE.lon, lat: HERE.lat, description: '暴露垃圾 test', ...extra };
}

// Read an SSE stream until `until(events)` is true or timeout; returns the
// parsed events [{id, event, data}] and the raw text.
export async function readEvents(url, { headers = {}, until, timeoutMs = 5000 } = {}) {
  const ctrl = new AbortController();
  const res = await fetch(url, { headers, signal: ctrl.signal });
  const events = [];
  let raw = '';
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  try {
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      raw += decoder.decode(chunk, { stream: true });
      events.length = 0;
      for (const block of raw.split('\n\n').slice(0, -1)) { /* complete frames only */
        const ev = {};
        for (const line of block.split('\n')) {
          const i = line.indexOf(': ');
          if (i > 0 && !line.startsWith(':')) ev[line.slice(0, i)] = line.slice(i + 2);
        }
        if (ev.data) events.push({ id: Number(ev.id), event: ev.event, data: JSON.parse(ev.data) });
      }
      if (until && until(events, raw)) break;
    }
  } catch (e) {
    if (e.name !== 'AbortError') throw e;
  } finally {
    clearTimeout(timer);
    ctrl.abort();
  }
  return { status: res.status, headers: res.headers, events, raw };
}

export function xmllint(xml, xpath) {
  const args = xpath ? ['--xpath', xpath, '-'] : ['--noout', '-'];
  return execFileSync('xmllint', args, { input: xml, encoding: 'utf8' });
}
