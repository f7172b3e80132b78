import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keySegmentProblem, nodeId, shortHostname } from '../../src/cloud/node-id.ts';
import { UsageError } from '../../src/errors.ts';

const aws = { cloud: 'aws', instanceId: 'i-0cbr1234567890abc', region: 'us-east-1' } as const;
const gcp = { cloud: 'gcp', instanceId: '4520031799277581759', zone: 'us-central1-a' } as const;
const none = { cloud: 'none' } as const;

describe('nodeId', () => {
  it("is the seed tool's <hostname>-<instance_id> on a cloud", () => {
    assert.equal(nodeId({ facts: aws, hostname: 'cass1' }), 'cass1-i-0cbr1234567890abc');
    assert.equal(nodeId({ facts: gcp, hostname: 'cass-test-1' }), 'cass-test-1-4520031799277581759');
  });

  it('is the hostname off-cloud', () => {
    assert.equal(nodeId({ facts: none, hostname: 'cass1' }), 'cass1');
  });

  it('off-cloud is the full hostname, so hosts that differ only after the first dot stay apart', () => {
    assert.equal(nodeId({ facts: none, hostname: 'db1.dc1.example.com' }), 'db1.dc1.example.com');
    assert.equal(nodeId({ facts: none, hostname: 'db1.dc2.example.com' }), 'db1.dc2.example.com');
  });

  it('on a cloud takes the first label of the hostname, as it always has (the instance id keeps it unique)', () => {
    assert.equal(nodeId({ facts: aws, hostname: 'cass1.dc1.example.com' }), 'cass1-i-0cbr1234567890abc');
    assert.equal(shortHostname('db1.dc1.example.com'), 'db1');
    assert.equal(shortHostname('db1'), 'db1');
    assert.equal(shortHostname('.odd'), '.odd', 'a name without a first label stays whole (and is then rejected)');
  });

  it('lets the override win, on a cloud or off it', () => {
    assert.equal(nodeId({ override: 'dc1-rack2-n3', facts: aws, hostname: 'cass1' }), 'dc1-rack2-n3');
    assert.equal(nodeId({ override: 'n3', facts: none, hostname: 'cass1' }), 'n3');
    // An explicit override needs no instance id: it is how an operator gets past a metadata outage.
    assert.equal(nodeId({ override: 'n3', facts: { cloud: 'aws' }, hostname: 'cass1' }), 'n3');
  });

  it('refuses a cloud without an instance id rather than silently falling back to the hostname', () => {
    assert.throws(() => nodeId({ facts: { cloud: 'aws' }, hostname: 'cass1' }),
      (e: unknown) => e instanceof UsageError && /--node-id/.test(e.message));
  });

  it('rejects ids that cannot be one object-key segment', () => {
    for (const bad of ['', 'a/b', 'a\\b', '..', 'a..b', '.hidden', '.cass-backup-run', 'a\nb', 'a\u0000b']) {
      assert.throws(() => nodeId({ override: bad, facts: none, hostname: 'cass1' }), UsageError, JSON.stringify(bad));
    }
    assert.throws(() => nodeId({ facts: none, hostname: '' }), UsageError);
    assert.throws(() => nodeId({ facts: aws, hostname: '.x' }), UsageError);
  });

  it('names the flag in its message', () => {
    assert.throws(() => nodeId({ override: 'a/b', facts: none, hostname: 'cass1' }),
      { name: 'UsageError', message: '--node-id "a/b" contains a slash; pass a different --node-id' });
  });

  it('accepts ordinary host names and ids', () => {
    for (const good of ['cass1', 'ip-10-0-0-17', 'node_1', 'a.b', 'N3']) assert.equal(keySegmentProblem(good), undefined);
  });
});
