// The one classification of storage failures (src/storage/failure-kind.ts) and the rules built on it: what is
// retried, what stops a run, which regions an S3 client accepts, and how a closed stdout is told apart.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { SourceReadError, StorageError } from '../../src/errors.ts';
import { failureKind, isRetryable, stopsTheRun } from '../../src/storage/failure-kind.ts';
import { withRetry } from '../../src/storage/retry.ts';
import { fileSource } from '../../src/storage/source.ts';
import { assertUsableRegion } from '../../src/storage/s3-region.ts';
import { unresolvedHost } from '../../src/storage/network-errors.ts';
import { isMissingAwsCredentials, isMissingGoogleCredentials } from '../../src/storage/credential-sources.ts';
import { s3Error } from '../../src/storage/s3-errors.ts';
import { brokenPipeMessage, watchBrokenPipes } from '../../src/broken-pipe.ts';
import { ExitCode, exitCodeFor } from '../../src/exit-codes.ts';
import { CleanupIncompleteError } from '../../src/errors.ts';

const errno = (code: string, extra: Record<string, unknown> = {}): Error => Object.assign(new Error(`${code}: failed`), { code, ...extra });

describe('failureKind', () => {
  it('tells transient, permanent, source and aborted failures apart', () => {
    assert.equal(failureKind(new StorageError('slow down', { permanent: false, code: 'SlowDown' })), 'transient');
    assert.equal(failureKind(new StorageError('no bucket', { permanent: true, code: 'NoSuchBucket' })), 'permanent');
    assert.equal(failureKind(new SourceReadError('/d/f', errno('ENOENT'))), 'source');
    assert.equal(failureKind(new SourceReadError('/d/f', errno('EIO'))), 'transient', 'a disk read error may be passing');
    assert.equal(failureKind(Object.assign(new Error('aborted'), { name: 'AbortError' })), 'aborted');
    assert.equal(failureKind(new Error('socket hang up')), 'transient');
  });

  it('finds the source failure inside an adapter\'s StorageError (as its cause)', () => {
    const wrapped = new StorageError('local put failed', { permanent: true, code: 'ENOENT', cause: new SourceReadError('/d/f', errno('ENOENT')) });
    assert.equal(failureKind(wrapped), 'source');
    assert.equal(isRetryable(wrapped), false);
    assert.equal(stopsTheRun(wrapped), false, 'a vanished file is that file\'s failure only');
  });

  it('a file source fails with a SourceReadError, by stream and by readAll', async () => {
    const source = fileSource('/nonexistent/nb-1-big-Data.db', 10);
    await assert.rejects(source.readAll!(), (err) => err instanceof SourceReadError && err.code === 'ENOENT');
    await assert.rejects(async () => { for await (const _ of source.open()) { /* nothing */ } },
      (err) => err instanceof SourceReadError && /cannot read \/nonexistent\/nb-1-big-Data\.db: it no longer exists \(ENOENT\)/.test(err.message));
  });

  it('withRetry gives up at once on a source or permanent failure, and retries a transient one', async () => {
    const policy = { attempts: 5, baseDelayMs: 1, maxDelayMs: 1 };
    for (const [err, calls] of [[new SourceReadError('/d/f', errno('ENOENT')), 1],
      [new StorageError('denied', { permanent: true, code: 'AccessDenied' }), 1],
      [new StorageError('slow', { permanent: false, code: 'SlowDown' }), 5]] as const) {
      let n = 0;
      await assert.rejects(withRetry('op', policy, undefined, async () => { n++; throw err; }));
      assert.equal(n, calls, err.message);
    }
  });
});

describe('S3 configuration failures', () => {
  it('accepts the region names AWS uses, and anything with an endpoint', () => {
    for (const r of ['us-east-1', 'eu-west-3', 'ap-southeast-7', 'us-gov-west-1', 'cn-northwest-1', 'us-isob-east-1', 'eusc-de-east-1',
      'fips-us-east-1', 'us-east-1-fips', 'aws-global']) assert.doesNotThrow(() => assertUsableRegion(r, undefined), r);
    assert.doesNotThrow(() => assertUsableRegion('garage', 'http://127.0.0.1:3900'));
    for (const r of ['not-a-region', 'US-EAST-1', 'us_east_1', '', 'useast1']) {
      assert.throws(() => assertUsableRegion(r, undefined), (err) => err instanceof StorageError && err.permanent && err.code === 'InvalidRegion', r);
    }
  });

  it('missing credentials and an unresolvable host are permanent, with one line that says what to check', () => {
    const noCreds = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    assert.ok(isMissingAwsCredentials(noCreds));
    const e1 = s3Error(noCreds, 'PutObject', 'b', 'k') as StorageError;
    assert.ok(e1.permanent);
    assert.match(e1.message, /^no AWS credentials: .*AWS_PROFILE.*instance role/);
    const e2 = s3Error(errno('ENOTFOUND', { hostname: 'b.s3.nowhere-1.amazonaws.com' }), 'PutObject', 'b', 'k') as StorageError;
    assert.ok(e2.permanent);
    assert.match(e2.message, /the S3 endpoint host "b\.s3\.nowhere-1\.amazonaws\.com" does not resolve \(ENOTFOUND\)/);
    const eaiAgain = s3Error(errno('EAI_AGAIN', { hostname: 'h' }), 'PutObject', 'b', 'k') as StorageError;
    assert.equal(eaiAgain.permanent, false, 'a resolver that cannot answer now may answer later');
    const source = new SourceReadError('/d/f', errno('ENOENT'));
    assert.equal(s3Error(source, 'PutObject', 'b', 'k'), source, 'a source failure is passed on as it is');
    assert.equal(isMissingAwsCredentials(source), false);
  });

  it('finds an unresolved host named only in a message (as gaxios words it)', () => {
    const err = Object.assign(new Error('request to https://x/ failed, reason: getaddrinfo ENOTFOUND storage.example.test'), { code: 'ENOTFOUND' });
    assert.equal(unresolvedHost(err), 'storage.example.test');
    assert.equal(unresolvedHost(new Error('other')), undefined);
    assert.ok(isMissingGoogleCredentials(new Error('Could not load the default credentials. Browse to https://x for more information.')));
  });
});

describe('exit codes of the new outcomes', () => {
  it('a complete backup whose clean-up failed is 5', () => {
    assert.equal(exitCodeFor(new CleanupIncompleteError('complete, but', 'n/.cass-backup-run/manifests/t.json')), ExitCode.cleanup);
    assert.equal(ExitCode.cleanup, 5);
    assert.equal(ExitCode.brokenPipe, 141);
  });

  it('a closed stdout aborts the run once; other write errors only silence that stream', () => {
    const stdout = new EventEmitter();
    const stderr = new EventEmitter();
    const pipes = watchBrokenPipes({ stdout, stderr });
    stderr.emit('error', errno('ENOSPC'));
    assert.equal(pipes.signal.aborted, false);
    assert.equal(pipes.writable('stderr'), false);
    stdout.emit('error', errno('EPIPE'));
    stdout.emit('error', errno('EPIPE'));
    assert.equal(pipes.closed(), 'stdout');
    assert.ok(pipes.signal.aborted);
    assert.ok(pipes.isOwnAbort(pipes.signal.reason));
    assert.equal(pipes.isOwnAbort(new Error('3 of 4 files were not stored')), false);
    assert.equal(brokenPipeMessage('stdout', 'stdout was closed (EPIPE); 3 of 4 files were not stored'),
      'stdout was closed (EPIPE), so the run stopped: 3 of 4 files were not stored');
  });
});
