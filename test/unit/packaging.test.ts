// What the package's entry and the single executable rely on: the Node version rule (src/node-version.ts) and
// loading the embedded native addon from its bytes (src/sea/load-addon.ts, with the real @node-rs/crc32 addon).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c as packageCrc32c } from '@node-rs/crc32';
import { nodeVersionProblem } from '../../src/node-version.ts';
import { loadAddonFromBytes, type Crc32Addon } from '../../src/sea/load-addon.ts';
import { crc32c as seaCrc32c } from '../../src/sea/native-crc32.ts';
import { UsageError } from '../../src/errors.ts';
import { repoRoot } from '../support/run-cli.ts';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'cbr-unit-'));
const addonBytes = (): Buffer => readFileSync(join(repoRoot, 'node_modules/@node-rs/crc32-linux-x64-gnu/crc32.linux-x64-gnu.node'));

describe('node version rule', () => {
  it('refuses Node < 22 in one sentence naming the version, accepts 22 and later', () => {
    assert.equal(nodeVersionProblem('v20.20.2'), 'Node.js >= 22 is required (this is v20.20.2)');
    assert.equal(nodeVersionProblem('v21.7.3'), 'Node.js >= 22 is required (this is v21.7.3)');
    assert.equal(nodeVersionProblem('v18.19.0'), 'Node.js >= 22 is required (this is v18.19.0)');
    for (const ok of ['v22.0.0', 'v22.12.0', 'v24.21.0', 'v100.1.2']) assert.equal(nodeVersionProblem(ok), undefined, ok);
    assert.match(nodeVersionProblem('nonsense') ?? '', /^Node\.js >= 22 is required \(this is nonsense\)$/);
  });
});

describe('embedded native addon', () => {
  it('loads the real CRC32C addon from its bytes, answers as the package does, and leaves no file behind', () => {
    const dir = tmp();
    const addon = loadAddonFromBytes<Crc32Addon>(addonBytes(), 'crc32c', [dir]);
    assert.equal(addon.crc32c(Buffer.from('123456789')) >>> 0, 0xe3069283, 'the CRC32C check value');
    const data = randomBytes(1 << 20);
    assert.equal(addon.crc32c(data, 0x1234), packageCrc32c(data, 0x1234));
    assert.deepEqual(readdirSync(dir), [], 'the temporary directory is removed once loaded');
  });

  it('falls back to the next place when one is unusable (e.g. not a directory)', () => {
    const notDir = join(tmp(), 'a-file');
    writeFileSync(notDir, '');
    const good = tmp();
    const addon = loadAddonFromBytes<Crc32Addon>(addonBytes(), 'crc32c', [notDir, good]);
    assert.equal(addon.crc32c(Buffer.from('123456789')) >>> 0, 0xe3069283);
    assert.deepEqual(readdirSync(good), []);
  });

  it('fails with one usage error (exit 2) naming every place tried when nothing loads', () => {
    const dir = tmp();
    assert.throws(() => loadAddonFromBytes(randomBytes(4096), 'crc32c', [dir, join(dir, 'second')]),
      (err: Error) => err instanceof UsageError && err.message.startsWith('cannot load the embedded native addon (') &&
        err.message.includes(`${dir}: `) && err.message.includes(`${join(dir, 'second')}: `) && /set TMPDIR/.test(err.message));
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('cass-backup-run-addon-')), [], 'no temporary directory left');
  });

  it('in the binary, @node-rs/crc32 tries loading once per process and then repeats the first failure (outside a SEA: no asset)', () => {
    const first = (() => { try { seaCrc32c(Buffer.from('x')); } catch (err) { return err; } })();
    assert.ok(first instanceof Error, 'outside a single executable there is no embedded addon');
    assert.throws(() => seaCrc32c(Buffer.from('y')), (err) => err === first);
  });

  it('refuses a library that lacks the expected export', () => {
    assert.throws(() => loadAddonFromBytes(addonBytes(), 'noSuchFunction', [tmp()]), /the addon has no noSuchFunction\(\)/);
  });
});
