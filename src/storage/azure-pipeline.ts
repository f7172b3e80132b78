// The Azure client's request pipeline: the SDK's own (credential, retries, timeouts) with one policy in front that
// applies the encryption scope to every request that stores bytes (Put Blob, Put Block, Put Block List, Copy Blob).
// One policy rather than an option per call, because the SDK's copy call has no such option, and a server-side
// copy of an unchanged file must be encrypted like an upload.
import {
  newPipeline, type Pipeline, type RequestPolicy, type RequestPolicyFactory, type StoragePipelineOptions,
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
  const pipeline = newPipeline(credential, options);
  // Added to the pipeline newPipeline made (which keeps the credential): the SDK runs such a factory before its
  // signing phase, so the shared-key signature (over the x-ms-* headers) covers the header.
  if (encryptionScope !== undefined) pipeline.factories.push(encryptionScopeFactory(encryptionScope));
  return pipeline;
}
