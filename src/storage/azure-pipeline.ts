// The Azure client's request pipeline: the SDK's own (credential, retries, timeouts) with one policy in front that
// applies the encryption scope to every request that stores bytes (Put Blob, Put Block, Put Block List, Copy Blob).
// One policy rather than an option per call, because the SDK's copy call has no such option, and a server-side
// copy of an unchanged file must be encrypted like an upload.
import {
  Pipeline, newPipeline, type RequestPolicy, type RequestPolicyFactory, type StoragePipelineOptions,
  type StorageSharedKeyCredential, type WebResource,
} from '@azure/storage-blob';
import type { TokenCredential } from '@azure/core-auth';

export const ENCRYPTION_SCOPE_HEADER = 'x-ms-encryption-scope';

/** Put Blob and Copy Blob (no comp), Put Block, Put Block List: the writes that create stored bytes. */
export function storesBytes(method: string, url: string): boolean {
  if (method.toUpperCase() !== 'PUT') return false;
  const query = new URL(url).searchParams;
  if (query.has('restype')) return false; // container operations
  const comp = query.get('comp');
  return comp === null || comp === 'block' || comp === 'blocklist';
}

function encryptionScopeFactory(scope: string): RequestPolicyFactory {
  return {
    create: (next: RequestPolicy): RequestPolicy => ({
      sendRequest: (request: WebResource) => {
        if (storesBytes(request.method, request.url)) request.headers.set(ENCRYPTION_SCOPE_HEADER, scope);
        return next.sendRequest(request);
      },
    }),
  };
}

export function azurePipeline(credential: StorageSharedKeyCredential | TokenCredential, options: StoragePipelineOptions,
  encryptionScope: string | undefined): Pipeline {
  const base = newPipeline(credential, options);
  if (encryptionScope === undefined) return base;
  // In front of the SDK's policies, so that the shared-key signature (which covers x-ms-* headers) includes it.
  return new Pipeline([encryptionScopeFactory(encryptionScope), ...base.factories], base.options);
}
