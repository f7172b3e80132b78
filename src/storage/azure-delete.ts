// Deleting blobs: Blob Batch requests of up to 256 deletes each, where the service supports them; where it does not
// (some emulators and gateways refuse the batch endpoint), one delete per blob, several at once. A blob already
// gone is not an error either way.
import type { BlobClient } from '@azure/storage-blob';
import type { SignalOptions } from './backend.ts';
import { azureCodeOf, azureError, azureStatusOf } from './azure-errors.ts';
import type { AzureCtx } from './azure.ts';

const BATCH = 256;
const SINGLE_CONCURRENCY = 32;

/** Remembered per container: once refused, the batch endpoint is not asked again. */
const batchRefused = new WeakMap<object, boolean>();

/** The answers that mean "this server has no batch endpoint", not "these deletes failed". */
export function isBatchUnsupported(err: unknown): boolean {
  const status = azureStatusOf(err);
  const code = azureCodeOf(err);
  return status === 400 || status === 404 || status === 405 || status === 501 ||
    ['FeatureNotSupported', 'NotImplemented', 'UnsupportedHttpVerb', 'InvalidQueryParameterValue'].includes(code);
}

export async function deleteBlobs(ctx: AzureCtx, keys: readonly string[], options?: SignalOptions): Promise<void> {
  for (let i = 0; i < keys.length; i += BATCH) {
    options?.signal?.throwIfAborted();
    const clients = keys.slice(i, i + BATCH).map((k) => ctx.containerClient.getBlobClient(ctx.prefix + k));
    if (batchRefused.get(ctx.containerClient) !== true) {
      const done = await deleteBatch(ctx, clients, options);
      if (done) continue;
      batchRefused.set(ctx.containerClient, true);
    }
    await deleteEach(ctx, clients, options);
  }
}

/** false when the server has no batch endpoint. */
async function deleteBatch(ctx: AzureCtx, clients: BlobClient[], options?: SignalOptions): Promise<boolean> {
  let response;
  try {
    response = await ctx.containerClient.getBlobBatchClient().deleteBlobs(clients, { abortSignal: options?.signal });
  } catch (err) {
    if (!options?.signal?.aborted && isBatchUnsupported(err)) return false;
    throw azureError(ctx, err, 'delete', undefined, 'container', options?.signal);
  }
  for (const sub of response.subResponses) {
    if (sub.status === 202 || sub.status === 404) continue;
    const name = sub._request.url === undefined ? undefined : decodeURIComponent(new URL(sub._request.url).pathname);
    throw azureError(ctx, Object.assign(new Error(sub.statusMessage || `HTTP ${sub.status}`),
      { statusCode: sub.status, code: sub.errorCode }), 'delete', name, 'blob', options?.signal);
  }
  return true;
}

async function deleteEach(ctx: AzureCtx, clients: BlobClient[], options?: SignalOptions): Promise<void> {
  for (let i = 0; i < clients.length; i += SINGLE_CONCURRENCY) {
    options?.signal?.throwIfAborted();
    await Promise.all(clients.slice(i, i + SINGLE_CONCURRENCY).map(async (client) => {
      try {
        await client.deleteIfExists({ abortSignal: options?.signal });
      } catch (err) {
        throw azureError(ctx, err, 'delete', client.name, 'blob', options?.signal);
      }
    }));
  }
}
