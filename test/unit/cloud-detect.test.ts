// Cloud detection logic with injected probes, plus the real probes against loopback servers that misbehave.
// Every env given to the code under test points both metadata variables at loopback, so 169.254.169.254 is never
// probed.
import { closedLoopbackPort, listen } from '../support/loopback.ts';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { CloudFacts } from '../../src/domain.ts';
import {
  cloudFromDmi, detectCloud, type DmiInfo, type Probe, type Probes,
} from '../../src/cloud/detect.ts';
import { gceMetadataHost, regionOfZone } from '../../src/cloud/gce.ts';
import { awsMetadataEndpoint } from '../../src/cloud/imds.ts';

const awsFacts: CloudFacts = { cloud: 'aws', instanceId: 'i-0abc', hostname: 'ip-10-0-0-1.ec2.internal',
  region: 'us-east-1', zone: 'us-east-1a' };
const gcpFacts: CloudFacts = { cloud: 'gcp', instanceId: '123', hostname: 'vm.c.p.internal', region: 'us-central1',
  zone: 'us-central1-a', projectId: 'p' };
const noDmi = async (): Promise<DmiInfo> => ({});
const amazonDmi = async (): Promise<DmiInfo> => ({ sysVendor: 'Amazon EC2', productName: 'm5.large' });
const googleDmi = async (): Promise<DmiInfo> => ({ sysVendor: 'Google', productName: 'Google Compute Engine' });

/** A probe that records its calls and answers `facts` after `delayMs` (or never, with delayMs Infinity). */
function fakeProbe(facts: CloudFacts | undefined, delayMs = 0): Probe & { calls: number; signals: AbortSignal[] } {
  const probe = Object.assign(
    (options: { timeoutMs: number; signal: AbortSignal }) => {
      probe.calls += 1;
      probe.signals.push(options.signal);
      if (delayMs === Infinity) return new Promise<CloudFacts | undefined>(() => {});
      return new Promise<CloudFacts | undefined>((resolve) => setTimeout(() => resolve(facts), delayMs));
    },
    { calls: 0, signals: [] as AbortSignal[] },
  );
  return probe;
}

describe('detectCloud with injected probes', () => {
  it('returns the AWS facts when only IMDS answers', async () => {
    const probes = { aws: fakeProbe(awsFacts), gcp: fakeProbe(undefined) };
    assert.deepEqual(await detectCloud({ mode: 'auto', env: {}, probes, readDmi: noDmi }), awsFacts);
    assert.equal(probes.gcp.calls, 1, 'both probes run in parallel');
  });

  it('returns the GCE facts when only the GCE metadata server answers', async () => {
    const probes = { aws: fakeProbe(undefined), gcp: fakeProbe(gcpFacts, 5) };
    assert.deepEqual(await detectCloud({ mode: 'auto', env: {}, probes, readDmi: noDmi }), gcpFacts);
  });

  it('returns none when neither answers', async () => {
    const probes = { aws: fakeProbe(undefined), gcp: fakeProbe(undefined) };
    assert.deepEqual(await detectCloud({ mode: 'auto', env: {}, probes, readDmi: noDmi }), { cloud: 'none' });
  });

  it('takes the first answer without a DMI hint and cancels the other probe', async () => {
    const probes = { aws: fakeProbe(awsFacts, 50), gcp: fakeProbe(gcpFacts, 0) };
    assert.deepEqual(await detectCloud({ mode: 'auto', env: {}, probes, readDmi: noDmi }), gcpFacts);
    assert.equal(probes.aws.signals[0]?.aborted, true, 'the losing probe is told to stop');
  });

  it('lets a DMI hint skip the other probe', async () => {
    const probes = { aws: fakeProbe(awsFacts), gcp: fakeProbe(gcpFacts) };
    assert.deepEqual(await detectCloud({ mode: 'auto', env: {}, probes, readDmi: googleDmi }), gcpFacts);
    assert.equal(probes.aws.calls, 0);
    const again = { aws: fakeProbe(awsFacts), gcp: fakeProbe(gcpFacts) };
    assert.deepEqual(await detectCloud({ mode: 'auto', env: {}, probes: again, readDmi: amazonDmi }), awsFacts);
    assert.equal(again.gcp.calls, 0);
  });

  it('prefers the DMI-hinted cloud when both answer, even when the other answers first', async () => {
    // An explicitly configured endpoint is probed despite the hint; the hint still decides between two answers.
    const env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9' };
    const probes = { aws: fakeProbe(awsFacts, 0), gcp: fakeProbe(gcpFacts, 30) };
    assert.deepEqual(await detectCloud({ mode: 'auto', env, probes, readDmi: googleDmi }), gcpFacts);
    assert.equal(probes.aws.calls, 1);
  });

  it('falls back to the other answer when the hinted cloud does not answer', async () => {
    const env = { GCE_METADATA_HOST: '127.0.0.1:9' };
    const probes = { aws: fakeProbe(undefined), gcp: fakeProbe(gcpFacts, 10) };
    assert.deepEqual(await detectCloud({ mode: 'auto', env, probes, readDmi: amazonDmi }), gcpFacts);
  });

  it('treats a probe that throws, synchronously or not, as not answering', async () => {
    const throwsNow: Probe = () => { throw new Error('boom'); };
    const rejects: Probe = async () => { throw new Error('boom'); };
    const probes: Probes = { aws: throwsNow, gcp: rejects };
    assert.deepEqual(await detectCloud({ mode: 'auto', env: {}, probes, readDmi: noDmi }), { cloud: 'none' });
    assert.deepEqual(await detectCloud({ mode: 'aws', env: {}, probes }), { cloud: 'aws' });
  });

  it('mode aws probes only AWS, and returns {cloud: aws} without facts when it does not answer', async () => {
    const probes = { aws: fakeProbe(awsFacts), gcp: fakeProbe(gcpFacts) };
    assert.deepEqual(await detectCloud({ mode: 'aws', env: {}, probes, readDmi: googleDmi }), awsFacts);
    assert.equal(probes.gcp.calls, 0);
    const silent = { aws: fakeProbe(undefined), gcp: fakeProbe(gcpFacts) };
    assert.deepEqual(await detectCloud({ mode: 'aws', env: {}, probes: silent }), { cloud: 'aws' });
    assert.equal(silent.gcp.calls, 0);
  });

  it('mode gcp probes only GCE, and returns {cloud: gcp} without facts when it does not answer', async () => {
    const probes = { aws: fakeProbe(awsFacts), gcp: fakeProbe(gcpFacts) };
    assert.deepEqual(await detectCloud({ mode: 'gcp', env: {}, probes, readDmi: amazonDmi }), gcpFacts);
    assert.equal(probes.aws.calls, 0);
    const silent = { aws: fakeProbe(awsFacts), gcp: fakeProbe(undefined) };
    assert.deepEqual(await detectCloud({ mode: 'gcp', env: {}, probes: silent }), { cloud: 'gcp' });
  });

  it('mode none probes nothing and reads no DMI', async () => {
    const probes = { aws: fakeProbe(awsFacts), gcp: fakeProbe(gcpFacts) };
    let dmiReads = 0;
    const readDmi = async () => { dmiReads += 1; return {}; };
    assert.deepEqual(await detectCloud({ mode: 'none', env: {}, probes, readDmi }), { cloud: 'none' });
    assert.deepEqual([probes.aws.calls, probes.gcp.calls, dmiReads], [0, 0, 0]);
  });

  // Probes that never settle would hang detection forever: finishing at all (within the test's bound) is the proof.
  it('does not wait beyond the timeout for a probe that never settles', { timeout: 20_000 }, async () => {
    const probes = { aws: fakeProbe(awsFacts, Infinity), gcp: fakeProbe(gcpFacts, Infinity) };
    const facts = await detectCloud({ mode: 'auto', env: {}, probes, readDmi: noDmi, timeoutMs: 200 });
    assert.deepEqual(facts, { cloud: 'none' });
    assert.equal(probes.aws.signals[0]?.aborted, true);
    const forced = await detectCloud({ mode: 'gcp', env: {}, probes, timeoutMs: 50 });
    assert.deepEqual(forced, { cloud: 'gcp' });
  });
});

describe('detectCloud with the real probes against loopback', () => {
  let silent: Server; // Accepts connections and reads requests, never answers.
  const seen: string[] = [];
  let silentBase = '';
  let closedPort = 0;

  before(async () => {
    silent = createServer((req: IncomingMessage) => { seen.push(`${req.method} ${req.url}`); });
    silentBase = `127.0.0.1:${await listen(silent)}`;
    closedPort = await closedLoopbackPort();
  });
  after(async () => {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('gives up on servers that never answer within the timeout', { timeout: 20_000 }, async () => {
    const env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://${silentBase}`, GCE_METADATA_HOST: silentBase,
      AZURE_METADATA_ENDPOINT: `http://${silentBase}` };
    seen.length = 0;
    const facts = await detectCloud({ mode: 'auto', env, readDmi: noDmi, timeoutMs: 200 });
    assert.deepEqual(facts, { cloud: 'none' });
    assert.ok(seen.includes('PUT /latest/api/token'), `IMDS was asked: ${seen.join(', ')}`);
    assert.ok(seen.some((r) => r.startsWith('GET /computeMetadata/v1/')), `GCE was asked: ${seen.join(', ')}`);
  });

  it('does not probe IMDS when AWS_EC2_METADATA_DISABLED is set', async () => {
    const env = {
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://${silentBase}`,
      GCE_METADATA_HOST: `127.0.0.1:${closedPort}`,
      AZURE_METADATA_ENDPOINT: `http://127.0.0.1:${closedPort}`,
    };
    seen.length = 0;
    assert.deepEqual(await detectCloud({ mode: 'auto', env, readDmi: noDmi, timeoutMs: 200 }), { cloud: 'none' });
    assert.deepEqual(await detectCloud({ mode: 'aws', env, timeoutMs: 200 }), { cloud: 'aws' });
    assert.deepEqual(seen, []);
  });
});

describe('environment and DMI helpers', () => {
  it('resolves the IMDS endpoint like the AWS SDK', () => {
    assert.equal(awsMetadataEndpoint({}), 'http://169.254.169.254');
    assert.equal(awsMetadataEndpoint({ AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:1338' }),
      'http://127.0.0.1:1338');
    assert.equal(awsMetadataEndpoint({ AWS_EC2_METADATA_DISABLED: 'true' }), undefined);
    assert.equal(awsMetadataEndpoint({ AWS_EC2_METADATA_DISABLED: 'false' }), 'http://169.254.169.254');
  });

  it('resolves the GCE metadata host like gcp-metadata', () => {
    assert.equal(gceMetadataHost({}), '169.254.169.254');
    assert.equal(gceMetadataHost({ GCE_METADATA_HOST: '127.0.0.1:8089' }), '127.0.0.1:8089');
    assert.equal(gceMetadataHost({ GCE_METADATA_IP: '127.0.0.2', GCE_METADATA_HOST: '127.0.0.1:8089' }), '127.0.0.2');
  });

  it('derives the region from a zone', () => {
    assert.equal(regionOfZone('us-central1-a'), 'us-central1');
    assert.equal(regionOfZone('europe-west4-b'), 'europe-west4');
  });

  it('reads the cloud from DMI strings', () => {
    assert.equal(cloudFromDmi({ sysVendor: 'Amazon EC2', productName: 'm5.large', biosVendor: 'Amazon EC2' }), 'aws');
    assert.equal(cloudFromDmi({ sysVendor: 'Google', productName: 'Google Compute Engine' }), 'gcp');
    assert.equal(cloudFromDmi({ biosVendor: 'Google' }), 'gcp');
    assert.equal(cloudFromDmi({ sysVendor: 'Xen', productName: 'HVM domU' }), undefined);
    assert.equal(cloudFromDmi({ sysVendor: 'QEMU', productName: 'Standard PC (Q35 + ICH9, 2009)' }), undefined);
    assert.equal(cloudFromDmi({}), undefined);
  });
});

