// Machine identification: detected vs remembered vs flags, the DMI hint and the bounded retries, with injected
// probes, DMI reader and timer (no network, no waiting) over a real state directory.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { CloudFacts } from '../../src/domain.ts';
import type { DmiInfo, Probe } from '../../src/cloud/detect.ts';
import { identifyMachine, type IdentifyInput, type RememberMode } from '../../src/node-identity.ts';
import { retrySlots, RETRY_BUDGET_MS } from '../../src/cloud/identity-policy.ts';
import {
  parseRememberedIdentity, readRememberedIdentity, writeRememberedIdentity, type RememberedIdentity,
} from '../../src/cloud/remembered-identity.ts';
import { rememberedIdentityPath } from '../../src/state-dir.ts';
import { UsageError } from '../../src/errors.ts';

const HOST = 'db1.dc1.example.com';
const aws: CloudFacts = { cloud: 'aws', instanceId: 'i-0abc', hostname: 'ip-10-0-0-1.ec2.internal', region: 'us-east-1', zone: 'us-east-1a' };
const awsNew: CloudFacts = { ...aws, instanceId: 'i-0new' };
const gcp: CloudFacts = { cloud: 'gcp', instanceId: '123', region: 'us-central1', zone: 'us-central1-a', projectId: 'p' };
const AWS_ID = 'db1-i-0abc';
const T0 = new Date('2026-11-01T03:00:00Z');
const T1 = new Date('2026-12-01T03:00:00Z');

/** A probe that answers `answers[n]` on its n-th call (the last one from then on) and records each timeout. */
function scripted(...answers: (CloudFacts | undefined)[]): Probe & { timeouts: number[] } {
  const timeouts: number[] = [];
  const probe = async (o: { timeoutMs: number }) => {
    timeouts.push(o.timeoutMs);
    return answers[Math.min(timeouts.length - 1, answers.length - 1)];
  };
  return Object.assign(probe, { timeouts });
}

const silent = () => scripted(undefined);
const noDmi = async (): Promise<DmiInfo> => ({});
const amazonDmi = async (): Promise<DmiInfo> => ({ sysVendor: 'Amazon EC2', productName: 'm5.large' });

interface Case {
  stateDir?: string;
  cloud?: IdentifyInput['options']['cloud'];
  nodeId?: string;
  remember?: RememberMode;
  aws?: Probe | undefined;
  gcp?: Probe | undefined;
  dmi?: () => Promise<DmiInfo>;
  hostname?: string;
  now?: Date;
  timeoutMs?: number;
}

function run(c: Case & { stateDir: string }) {
  const sleeps: number[] = [];
  const sleepSignals: AbortSignal[] = [];
  const warnings: string[] = [];
  const input: IdentifyInput = {
    options: { cloud: c.cloud ?? 'auto', nodeId: c.nodeId, metadataTimeoutMs: c.timeoutMs ?? 1000 },
    machine: { hostname: c.hostname ?? HOST, env: {}, now: () => c.now ?? T1 },
    stateDir: c.stateDir, remember: c.remember ?? 'required', warn: (m) => warnings.push(m),
    detection: {
      probes: { aws: 'aws' in c ? c.aws : silent(), gcp: 'gcp' in c ? c.gcp : silent() },
      readDmi: c.dmi ?? noDmi,
      sleep: async (ms, signal) => { sleeps.push(ms); sleepSignals.push(signal); },
    },
  };
  return { result: identifyMachine(input), sleeps, sleepSignals, warnings };
}

function stateDir(): string {
  return mkdtempSync(join(tmpdir(), 'cbr-identity-'));
}

function remembered(dir: string): RememberedIdentity | undefined {
  const path = rememberedIdentityPath(dir);
  return existsSync(path) ? parseRememberedIdentity(readFileSync(path, 'utf8')) : undefined;
}

/** A state dir that remembers `facts` (as a first successful run at T0 would have left it). */
async function remembering(facts: CloudFacts, hostname = HOST): Promise<string> {
  const dir = stateDir();
  const first = run({ stateDir: dir, aws: scripted(facts.cloud === 'aws' ? facts : undefined),
    gcp: scripted(facts.cloud === 'gcp' ? facts : undefined), hostname, now: T0 });
  await first.result;
  assert.ok(remembered(dir), 'the first run remembered its identity');
  return dir;
}

/** A one-line UsageError whose message matches every pattern (in order of appearance, not checked). */
const refused = (...patterns: RegExp[]) => (e: unknown) => {
  assert.ok(e instanceof UsageError, `a UsageError, got ${String(e)}`);
  for (const pattern of patterns) assert.match(e.message, pattern);
  assert.ok(!e.message.includes('\n'), 'one line');
  return true;
};

describe('identifyMachine: node id', () => {
  it('off-cloud is the full hostname, so db1.dc1 and db1.dc2 are different nodes', async () => {
    for (const hostname of ['db1.dc1.example.com', 'db1.dc2.example.com']) {
      const id = await run({ stateDir: stateDir(), hostname }).result;
      assert.equal(id.nodeId, hostname);
      assert.equal(id.hostname, hostname);
      assert.deepEqual(id.cloud, { cloud: 'none' });
    }
  });

  it('on a cloud is <short hostname>-<instance id>, with the full hostname as the hostname fact', async () => {
    const id = await run({ stateDir: stateDir(), aws: scripted(aws) }).result;
    assert.equal(id.nodeId, AWS_ID);
    assert.equal(id.hostname, HOST);
    assert.deepEqual(id.cloud, aws);
  });
});

describe('identifyMachine: remembered identity', () => {
  it('a first run remembers cloud, instance, zone, node id, hostname and when, atomically', async () => {
    const dir = stateDir();
    const id = await run({ stateDir: dir, aws: scripted(aws), now: T0 }).result;
    assert.equal(id.remembered, undefined, 'nothing was remembered before');
    assert.deepEqual(remembered(dir), { nodeId: AWS_ID, hostname: HOST, cloud: aws, firstSeen: T0.toISOString(), lastSeen: T0.toISOString() });
    assert.deepEqual(readdirSync(dir), ['identity.json'], 'no temporary file left behind');
  });

  it('a later run with the same identity keeps firstSeen and moves lastSeen', async () => {
    const dir = await remembering(aws);
    const id = await run({ stateDir: dir, aws: scripted(aws), now: T1 }).result;
    assert.equal(id.remembered?.nodeId, AWS_ID, 'reports what was remembered');
    const after = remembered(dir);
    assert.equal(after?.firstSeen, T0.toISOString());
    assert.equal(after?.lastSeen, T1.toISOString());
  });

  it('metadata silent although a cloud is remembered: bounded retries with growing timeouts, then a clear refusal', async () => {
    const dir = await remembering(aws);
    const before = readFileSync(rememberedIdentityPath(dir), 'utf8');
    const probe = silent();
    const attempt = run({ stateDir: dir, aws: probe, gcp: silent() });
    await assert.rejects(attempt.result, refused(
      /^no aws metadata answered \(4 attempts over 11 s\), /,
      /but this node was identified as aws instance i-0abc \(us-east-1a\), node id "db1-i-0abc" /,
      /\(remembered in .*identity\.json, last seen 2026-11-01T03:00:00\.000Z\); /,
      /refusing to switch to node id "db1\.dc1\.example\.com": fix metadata access, /,
      /or pass --node-id db1-i-0abc to keep the old id, or --cloud none to switch deliberately$/));
    assert.deepEqual(probe.timeouts, [1000, 2000, 4000, 4000], 'each retry waits longer');
    assert.deepEqual(attempt.sleeps, [2000, 4000, 4000], 'a refusal is not retried at once: each slot is waited out');
    assert.ok(attempt.sleeps.reduce((a, b) => a + b, 0) <= RETRY_BUDGET_MS, 'bounded');
    assert.match(attempt.warnings.join('\n'), /retrying for up to 10 s/);
    assert.equal(readFileSync(rememberedIdentityPath(dir), 'utf8'), before, 'what is remembered is left alone');
  });

  it('a retry that gets an answer goes on under the remembered id', async () => {
    const dir = await remembering(aws);
    const probe = scripted(undefined, undefined, aws);
    const attempt = run({ stateDir: dir, aws: probe });
    const id = await attempt.result;
    assert.equal(id.nodeId, AWS_ID);
    assert.deepEqual(probe.timeouts, [1000, 2000, 4000]);
    assert.deepEqual(attempt.sleeps, [2000, 4000]);
    assert.deepEqual(attempt.sleepSignals.map((s) => s.aborted), [false, true],
      'the slot that got an answer is not waited out: its timer is cancelled');
    assert.equal(remembered(dir)?.lastSeen, T1.toISOString());
  });

  it('the DMI hint alone (nothing remembered) also makes a silent metadata service a refusal', async () => {
    const dir = stateDir();
    const attempt = run({ stateDir: dir, dmi: amazonDmi });
    await assert.rejects(attempt.result, refused(
      /^no aws metadata answered \(4 attempts over 11 s\), but the firmware \(DMI\) says this machine runs on aws; /,
      /refusing to use the off-cloud node id "db1\.dc1\.example\.com": fix metadata access, or pass --cloud none/));
    assert.equal(remembered(dir), undefined, 'nothing remembered');
  });

  it('a DMI hint whose probe the operator disabled (AWS_EC2_METADATA_DISABLED) is not waited for', async () => {
    const attempt = run({ stateDir: stateDir(), dmi: amazonDmi, aws: undefined });
    assert.equal((await attempt.result).nodeId, HOST);
    assert.deepEqual(attempt.sleeps, []);
  });

  it('off-cloud remembered: a silent metadata service is the normal case, no retry (not even with a DMI hint)', async () => {
    const dir = await remembering({ cloud: 'none' });
    for (const dmi of [noDmi, amazonDmi]) {
      const attempt = run({ stateDir: dir, dmi });
      assert.equal((await attempt.result).nodeId, HOST);
      assert.deepEqual(attempt.sleeps, []);
    }
  });

  it('nothing remembered, no DMI hint: off-cloud at once', async () => {
    const probe = silent();
    const attempt = run({ stateDir: stateDir(), aws: probe });
    assert.equal((await attempt.result).nodeId, HOST);
    assert.deepEqual(probe.timeouts, [1000]);
  });

  it('another instance id than remembered is refused, naming both ids and the way to accept it', async () => {
    const dir = await remembering(aws);
    await assert.rejects(run({ stateDir: dir, aws: scripted(awsNew) }).result, refused(
      /^node id would change from "db1-i-0abc" to "db1-i-0new": /,
      /this node was identified as aws instance i-0abc \(us-east-1a\) \(remembered in .*, last seen .*\) /,
      /and is now aws instance i-0new \(us-east-1a\); refusing to move its backups silently: /,
      /pass --node-id db1-i-0abc to keep the old id, or --cloud aws to accept the new one$/));
    assert.equal(remembered(dir)?.nodeId, AWS_ID);
  });

  it('another cloud than remembered is refused', async () => {
    const dir = await remembering(aws);
    await assert.rejects(run({ stateDir: dir, aws: silent(), gcp: scripted(gcp) }).result,
      refused(/node id would change from "db1-i-0abc" to "db1-123".*--cloud gcp to accept/));
  });

  it('a renamed off-cloud host is refused too', async () => {
    const dir = await remembering({ cloud: 'none' });
    await assert.rejects(run({ stateDir: dir, hostname: 'db7.dc1.example.com' }).result,
      refused(/from "db1\.dc1\.example\.com" to "db7\.dc1\.example\.com".*off-cloud host db1\.dc1\.example\.com.*--cloud none to accept/));
  });

  it('an explicit --cloud is the operator\'s decision: accepted and remembered (firstSeen starts again)', async () => {
    const dir = await remembering(aws);
    const off = await run({ stateDir: dir, cloud: 'none' }).result;
    assert.equal(off.nodeId, HOST);
    assert.deepEqual(remembered(dir), { nodeId: HOST, hostname: HOST, cloud: { cloud: 'none' }, firstSeen: T1.toISOString(), lastSeen: T1.toISOString() });

    const moved = await remembering(aws);
    assert.equal((await run({ stateDir: moved, cloud: 'aws', aws: scripted(awsNew) }).result).nodeId, 'db1-i-0new');
    assert.equal(remembered(moved)?.nodeId, 'db1-i-0new');
  });

  it('--node-id is honoured without retries or checks, and leaves what is remembered alone', async () => {
    const dir = await remembering(aws);
    const before = readFileSync(rememberedIdentityPath(dir), 'utf8');
    const attempt = run({ stateDir: dir, nodeId: 'other-node' });
    const id = await attempt.result;
    assert.equal(id.nodeId, 'other-node');
    assert.deepEqual(attempt.sleeps, []);
    assert.equal(readFileSync(rememberedIdentityPath(dir), 'utf8'), before);
  });

  it('read-only (detect, --dry-run) checks the same way but writes nothing', async () => {
    const dir = stateDir();
    assert.equal((await run({ stateDir: dir, remember: 'read-only', aws: scripted(aws) }).result).nodeId, AWS_ID);
    assert.equal(remembered(dir), undefined);
    const known = await remembering(aws);
    await assert.rejects(run({ stateDir: known, remember: 'read-only' }).result, refused(/refusing to switch/));
  });
});

describe('identifyMachine: the state directory', () => {
  it('a malformed identity file is an error naming it, unless --node-id is given', async () => {
    const dir = stateDir();
    writeFileSync(rememberedIdentityPath(dir), '{"format":1,"nodeId":');
    for (const remember of ['required', 'best-effort', 'read-only'] as const) {
      await assert.rejects(run({ stateDir: dir, remember }).result, refused(/identity\.json is not an identity this tool remembered .*fix or remove it/));
    }
    const attempt = run({ stateDir: dir, nodeId: 'n3' });
    assert.equal((await attempt.result).nodeId, 'n3');
    assert.match(attempt.warnings.join('\n'), /ignored with --node-id/);
  });

  it('best-effort (catalog commands): a state dir that cannot be used does not fail; required does, with the path', async () => {
    const parent = stateDir();
    const notADir = join(parent, 'file');
    writeFileSync(notADir, 'x');
    assert.equal((await run({ stateDir: notADir, remember: 'best-effort' }).result).nodeId, HOST);
    assert.equal((await run({ stateDir: notADir, remember: 'read-only' }).result).nodeId, HOST);
    await assert.rejects(run({ stateDir: notADir, remember: 'required' }).result,
      refused(/cannot (read the remembered identity|remember this node's identity in) .*file\/identity\.json/));
  });

  it('best-effort: an unreadable identity is ignored with a warning and not overwritten', async () => {
    const dir = stateDir();
    mkdirSync(rememberedIdentityPath(dir)); // a directory where the file should be: EISDIR, readable by no one
    const attempt = run({ stateDir: dir, remember: 'best-effort' });
    assert.equal((await attempt.result).nodeId, HOST);
    assert.match(attempt.warnings.join('\n'), /cannot read the remembered identity .*EISDIR/);
    await assert.rejects(run({ stateDir: dir, remember: 'required' }).result, refused(/cannot read the remembered identity/));
  });
});

describe('remembered identity file', () => {
  it('round-trips and rejects what it did not write', async () => {
    const path = join(stateDir(), 'sub', 'identity.json');
    assert.deepEqual(await readRememberedIdentity(path), { kind: 'none' });
    const identity: RememberedIdentity = { nodeId: AWS_ID, hostname: HOST, cloud: aws, firstSeen: T0.toISOString(), lastSeen: T1.toISOString() };
    await writeRememberedIdentity(path, identity);
    assert.deepEqual(await readRememberedIdentity(path), { kind: 'found', identity });
    for (const bad of ['[]', '{}', '{"format":2}', JSON.stringify({ format: 1, nodeId: 'n', hostname: 'h', cloud: { cloud: 'azure' }, firstSeen: 'a', lastSeen: 'b' }),
      JSON.stringify({ format: 1, nodeId: 'n', hostname: 'h', cloud: { cloud: 'aws' }, firstSeen: 'a', lastSeen: 'b' })]) {
      assert.throws(() => parseRememberedIdentity(bad), Error, bad);
    }
  });
});

describe('retrySlots', () => {
  it('doubles from twice the first timeout and stays within the budget', () => {
    assert.deepEqual(retrySlots(1000), [2000, 4000, 4000]);
    assert.deepEqual(retrySlots(2000), [4000, 6000]);
    assert.deepEqual(retrySlots(1500), [3000, 6000], 'a leftover shorter than the first attempt is dropped');
    assert.deepEqual(retrySlots(30_000), [10_000], 'a long first timeout still gets one retry');
    for (const first of [1, 50, 333, 1000, 2500, 7000, 60_000]) {
      const slots = retrySlots(first);
      assert.ok(slots.length >= 1 && slots.reduce((a, b) => a + b, 0) <= RETRY_BUDGET_MS, `first=${first}: ${slots.join(',')}`);
      assert.ok(slots.every((s, i) => i === 0 || s >= first), `first=${first}: growing`);
    }
  });
});
