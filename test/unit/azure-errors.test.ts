// How Azure failures are classified: what a retry can fix (throttling, server errors, resets) and what it cannot
// (credentials, a missing container, a refused create-only write), over errors shaped as the SDK throws them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestError } from '@azure/storage-blob';
import { StorageError } from '../../src/errors.ts';
import { azureError } from '../../src/storage/azure-errors.ts';
import { isAlreadyExists } from '../../src/storage/backend.ts';
import { failureKind } from '../../src/storage/failure-kind.ts';

const ctx = { account: 'acct', container: 'cont' };

function rest(status: number, code: string): RestError {
  return new RestError(`${code} message\nRequestId:1`, { statusCode: status, code });
}

describe('azure failure classification', () => {
  for (const [status, code] of [[503, 'ServerBusy'], [500, 'OperationTimedOut'], [500, 'InternalError'], [429, 'TooManyRequests'], [400, 'Md5Mismatch']] as const) {
    it(`${status} ${code} is transient (retried)`, () => {
      const err = azureError(ctx, rest(status, code), 'upload', 'k');
      assert.ok(err instanceof StorageError);
      assert.equal(failureKind(err), 'transient');
    });
  }

  for (const [status, code, message] of [
    [403, 'AuthenticationFailed', /Azure denied upload on az:\/\/acct\/cont\/k/],
    [403, 'AuthorizationPermissionMismatch', /Azure denied upload/],
    [404, 'ContainerNotFound', /Azure container "cont" does not exist in account "acct" \(NoSuchBucket\)/],
    [404, 'EncryptionScopeNotFound', /^Azure upload on az:\/\/acct\/cont\/k failed: .*\(EncryptionScopeNotFound\)$/],
    [400, 'InvalidBlobTier', /InvalidBlobTier/],
  ] as const) {
    it(`${status} ${code} is permanent (the run stops, exit 2)`, () => {
      const err = azureError(ctx, rest(status, code), 'upload', 'k', 'container');
      assert.ok(err instanceof StorageError);
      assert.equal(failureKind(err), 'permanent');
      assert.match(err.message, message);
      assert.ok(!err.message.includes('\n'), 'one line');
    });
  }

  it('a refused create-only write (409 BlobAlreadyExists, 412 ConditionNotMet) is an already-exists answer', () => {
    for (const e of [rest(409, 'BlobAlreadyExists'), rest(412, 'ConditionNotMet')]) {
      const err = azureError(ctx, e, 'upload', 'k');
      assert.ok(isAlreadyExists(err), String(err));
      assert.equal(failureKind(err), 'permanent');
    }
  });

  it('missing credentials of the default chain are permanent, naming where it looked', () => {
    const unavailable = Object.assign(new Error('ManagedIdentityCredential: no response'), { name: 'CredentialUnavailableError' });
    const err = azureError(ctx, unavailable, 'list');
    assert.ok(err instanceof StorageError && err.permanent);
    assert.match(err.message, /no usable Azure credentials: looked in AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_KEY/);
  });

  it('a reset connection is transient; an unresolved host is permanent', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    assert.equal(failureKind(azureError(ctx, reset, 'upload', 'k')), 'transient');
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND acct.blob.core.windows.net'), { code: 'ENOTFOUND', hostname: 'acct.blob.core.windows.net' });
    const err = azureError(ctx, dns, 'upload', 'k');
    assert.equal(failureKind(err), 'permanent');
    assert.match(String((err as Error).message), /does not resolve/);
  });
});
