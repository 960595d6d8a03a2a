// Start a real `mapd serve` over a private copy of the fixture database and
// return { base, stop() }. Used by every node test that talks HTTP.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export async function startServer(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'mapd-node-'));
  const db = join(dir, 'db.sqlite');
  copyFileSync(process.env.MAPD_FIXTURE_DB, db);
  const proc = spawn(process.env.MAPD_BIN,
    ['serve', '--db', db, '--port', '0', '--quiet', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout });
    rl.once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`mapd exited ${code} before serving`)));
  });
  const m = /http:\/\/[^/]+/.exec(line);
  if (!m) throw new Error(`unexpected first line: ${line}`);
  return {
    base: m[0],
    db,
    proc,
    async stop() {
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

// Web Mercator tile containing lon/lat at zoom z.
export function tileAt(z, lon, lat) {
  const n = 2 ** z;
  const x = Math.floor(((lon + 180) / 360) * n);
  const r = (lat * Math.PI) / 180;
  const y = Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n);
  return { z, x, y };
}
