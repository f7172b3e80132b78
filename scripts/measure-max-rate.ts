// Measures how closely --max-rate holds: uploads a synthetic snapshot to the loopback S3 server at a few limits
// and prints the achieved rate of the upload phase (from the first `start` to the last `file` JSON event).
// Usage: scripts/measure-max-rate.sh   (needs the test environment: scripts/testenv.sh up)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: source .testenv/env.sh`);
  return v;
};

const MiB = 1024 * 1024;
const root = mkdtempSync(join(tmpdir(), 'cbr-rate-'));
const snap = join(root, 'data', 'ks_rate', 'tbl-0123456789abcdef0123456789abcdef', 'snapshots', 'rate');
mkdirSync(snap, { recursive: true });
for (let i = 1; i <= 24; i++) writeFileSync(join(snap, `nb-${i}-big-Data.db`), randomBytes(2 * MiB + i * 4096));
const total = 24 * 2 * MiB + 4096 * (24 * 25) / 2;

console.log('| --max-rate | bytes | upload seconds | achieved | deviation |');
console.log('|---|---|---|---|---|');
for (const limit of [4, 8, 16]) {
  const out = execFileSync(process.execPath, ['dist/main.js', 'snapshot', '--resume', 'rate', '--keep-snapshot',
    '--data-dir', join(root, 'data'), '--dest', `s3://${env('CBR_S3_BUCKET')}/rate-${Date.now()}`, '--node-id', 'rate',
    '--cloud', 'none', '--nodetool', env('CBR_NODETOOL'), '--state-dir', join(root, `state-${limit}`),
    '--max-rate', `${limit}MiB`, '--json'], {
    encoding: 'utf8', maxBuffer: 64 * MiB,
    env: { ...process.env, AWS_ACCESS_KEY_ID: env('CBR_S3_ACCESS_KEY'), AWS_SECRET_ACCESS_KEY: env('CBR_S3_SECRET_KEY'),
      CASS_BACKUP_S3_ENDPOINT: env('CBR_S3_ENDPOINT') },
  });
  const events = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; time: string });
  const start = Date.parse(events.find((e) => e.type === 'start')!.time);
  const end = Math.max(...events.filter((e) => e.type === 'file').map((e) => Date.parse(e.time)));
  const seconds = (end - start) / 1000;
  const rate = total / seconds / MiB;
  console.log(`| ${limit} MiB/s | ${total} | ${seconds.toFixed(2)} | ${rate.toFixed(2)} MiB/s | ${(((rate - limit) / limit) * 100).toFixed(1)}% |`);
}
rmSync(root, { recursive: true, force: true });
