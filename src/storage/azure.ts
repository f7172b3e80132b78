// The Azure Blob Storage adapter (block blobs). Small objects go in one Put Blob whose MD5 the service checks;
// large ones as parallel staged blocks (azure-blocks.ts). Create-only writes carry If-None-Match: *. This module
// and its azure-* helpers are the only ones that import the Azure SDK.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  BlobServiceClient, StorageSharedKeyCredential, type BlobItem, type BlobProperties, type BlockBlobClient,
  type ContainerClient, type BlobGetPropertiesResponse,
} from '@azure/storage-blob';
import { StorageError } from '../errors.ts';
import type { Backend, CopyOptions, GetOptions, ObjectInfo, PutOptions, PutSource, SignalOptions } from './backend.ts';
import { azureCredentialError, defaultAzureCredential, type AzureCredentialChoice } from './azure-credentials.ts';
import { azureCodeOf, azureError, azureStatusOf } from './azure-errors.ts';
import { azurePipeline } from './azure-pipeline.ts';
import { blockSizeFor, uploadInBlocks } from './azure-blocks.ts';
import { deleteBlobs } from './azure-delete.ts';
import { assertDirPrefix, normalizePrefix } from './prefix.ts';
import { readWholeSource } from './source.ts';

export interface AzureBackendConfig {
  readonly account: string;
  readonly container: string;
  /** Blob name prefix, with or without a trailing slash; '' for the container root. */
  readonly prefix: string;
  /**
   * The blob service URL, account included where the server wants it in the path (Azurite:
   * `http://127.0.0.1:10000/devstoreaccount1`). Default `https://<account>.blob.core.windows.net`.
   */
  readonly endpoint?: string | undefined;
  readonly credential: AzureCredentialChoice;
  /** Files larger than this go as staged blocks; smaller ones in one Put Blob. Default 64 MiB. */
  readonly blockThreshold?: number;
  /** Smallest block; grows for files above 50,000 of them. Default 16 MiB. */
  readonly blockSize?: number;
  /** Blocks of one file staged in parallel. Default 4. */
  readonly blockConcurrency?: number;
  /** Milliseconds one request may take before the SDK abandons (and retries) it. Default 120 s. */
  readonly requestTimeoutMs?: number;
  /** Every write (uploads, blocks, server-side copies) is encrypted with this encryption scope of the account. */
  readonly encryptionScope?: string | undefined;
}

const MiB = 1024 * 1024;
const LIST_PAGE = 5000;

export interface AzureCtx {
  readonly account: string;
  readonly container: string;
  readonly containerClient: ContainerClient;
  /** '' or ends with '/'. */
  readonly prefix: string;
  readonly blockThreshold: number;
  readonly blockSize: number;
  readonly blockConcurrency: number;
}

/** The service URL for the account: the endpoint as given (without a trailing slash), else Azure's public one. */
export function azureServiceUrl(account: string, endpoint: string | undefined): string {
  return endpoint === undefined ? `https://${account}.blob.core.windows.net` : endpoint.replace(/\/+$/, '');
}

/** AccountName, AccountKey and BlobEndpoint of an account-key connection string (the form Azurite documents). */
export function parseConnectionString(text: string): { account?: string; key?: string; blobEndpoint?: string } {
  const fields = new Map(text.split(';').filter((p) => p.includes('=')).map((p) => {
    const at = p.indexOf('=');
    return [p.slice(0, at).trim().toLowerCase(), p.slice(at + 1).trim()] as const;
  }));
  const pick = (k: string): Record<string, string> => (fields.get(k) ? { [k]: fields.get(k)! } : {});
  const { accountname, accountkey, blobendpoint } = { ...pick('accountname'), ...pick('accountkey'), ...pick('blobendpoint') };
  return {
    ...(accountname === undefined ? {} : { account: accountname }),
    ...(accountkey === undefined ? {} : { key: accountkey }),
    ...(blobendpoint === undefined ? {} : { blobEndpoint: blobendpoint }),
  };
}

async function serviceClient(config: AzureBackendConfig): Promise<BlobServiceClient> {
  const pipelineOptions = {
    // Few, quick SDK retries of one request (a block's body is a buffer, safe to resend); the engine owns the rest.
    retryOptions: { maxTries: 3, tryTimeoutInMs: config.requestTimeoutMs ?? 120_000, retryDelayInMs: 200, maxRetryDelayInMs: 2000 },
  };
  const c = config.credential;
  if (c.kind === 'default-chain') {
    const url = azureServiceUrl(config.account, config.endpoint);
    return new BlobServiceClient(url, azurePipeline(await defaultAzureCredential(), pipelineOptions, config.encryptionScope));
  }
  let key = c.kind === 'account-key' ? c.accountKey : undefined;
  let endpoint = config.endpoint;
  if (c.kind === 'connection-string') {
    const parsed = parseConnectionString(c.connectionString);
    if (parsed.key === undefined) {
      throw new StorageError('AZURE_STORAGE_CONNECTION_STRING has no AccountKey: give an account-key connection string, ' +
        'or unset it to use the default credential chain', { permanent: true, code: 'NoCredentials' });
    }
    key = parsed.key;
    endpoint = endpoint ?? parsed.blobEndpoint;
  }
  let credential: StorageSharedKeyCredential;
  try {
    credential = new StorageSharedKeyCredential(config.account, key ?? '');
  } catch (err) {
    throw azureCredentialError(err);
  }
  return new BlobServiceClient(azureServiceUrl(config.account, endpoint),
    azurePipeline(credential, pipelineOptions, config.encryptionScope));
}

export async function openAzureBackend(config: AzureBackendConfig): Promise<Backend> {
  const service = await serviceClient(config);
  const ctx: AzureCtx = {
    account: config.account,
    container: config.container,
    containerClient: service.getContainerClient(config.container),
    prefix: normalizePrefix(config.prefix),
    blockThreshold: config.blockThreshold ?? 64 * MiB,
    blockSize: config.blockSize ?? 16 * MiB,
    blockConcurrency: config.blockConcurrency ?? 4,
  };
  return {
    description: `az://${config.account}/${config.container}/${ctx.prefix}`,
    put: (key, source, options) => put(ctx, key, source, options),
    stat: (key, options) => stat(ctx, key, options),
    list: (prefix, options) => list(ctx, prefix, options),
    listDirs: (prefix, options) => listDirs(ctx, prefix, options),
    get: (key, options) => get(ctx, key, options),
    copy: (from, to, options) => copy(ctx, from, to, options),
    delete: (keys, options) => deleteBlobs(ctx, keys, options),
    close: async () => {},
  };
}

/** Azure ETags are quoted in headers and bare in listings: one form everywhere, as the manifest records it. */
function bareEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '');
}

function infoOf(key: string, p: Pick<BlobProperties, 'contentLength' | 'etag' | 'lastModified'> | BlobGetPropertiesResponse): ObjectInfo {
  const etag = bareEtag(p.etag);
  return {
    key, size: Number(p.contentLength ?? 0),
    ...(etag === undefined ? {} : { etag }),
    ...(p.lastModified === undefined ? {} : { lastModified: p.lastModified }),
  };
}

function blob(ctx: AzureCtx, key: string): BlockBlobClient {
  return ctx.containerClient.getBlockBlobClient(ctx.prefix + key);
}

// ---------- put ----------

async function put(ctx: AzureCtx, key: string, source: PutSource, options?: PutOptions): Promise<ObjectInfo> {
  const name = ctx.prefix + key;
  const client = blob(ctx, key);
  const signal = options?.signal;
  const conditions = options?.createOnly === true ? { ifNoneMatch: '*' } : {};
  const tier = options?.storageClass === undefined ? {} : { tier: options.storageClass };
  try {
    if (source.size <= ctx.blockThreshold) {
      const body = await readWholeSource(source, signal); // a read failure comes before any request
      if (body.length !== source.size) throw new Error(`the source ended after ${body.length} of ${source.size} bytes`);
      const md5 = createHash('md5').update(body).digest();
      // Content-MD5: the service checks the body against it, and keeps it as the blob's.
      await client.upload(body, body.length, {
        abortSignal: signal, conditions, ...tier, transactionalContentMD5: md5,
        blobHTTPHeaders: { blobContentType: 'application/octet-stream', blobContentMD5: md5 },
      });
      options?.onBytes?.(body.length);
    } else {
      await uploadInBlocks(client, source, {
        blockSize: blockSizeFor(source.size, ctx.blockSize), concurrency: ctx.blockConcurrency, signal,
        onBytes: options?.onBytes,
        commit: { conditions, ...tier, blobHTTPHeaders: { blobContentType: 'application/octet-stream' } },
      });
    }
    const stored = await client.getProperties({ abortSignal: signal });
    const info = infoOf(key, stored);
    if (info.size !== source.size) {
      throw new StorageError(`Azure upload of az://${ctx.account}/${ctx.container}/${name}: stored ${info.size} bytes, sent ${source.size}`,
        { permanent: false, code: 'SizeMismatch' });
    }
    return info;
  } catch (err) {
    throw azureError(ctx, err, 'upload', name, 'container', signal);
  }
}

// ---------- read side ----------

async function stat(ctx: AzureCtx, key: string, options?: SignalOptions): Promise<ObjectInfo | undefined> {
  const name = ctx.prefix + key;
  try {
    options?.signal?.throwIfAborted();
    return infoOf(key, await blob(ctx, key).getProperties({ abortSignal: options?.signal }));
  } catch (err) {
    // A HEAD answer has no body: a missing container says so only in x-ms-error-code.
    if (!options?.signal?.aborted && azureStatusOf(err) === 404 && azureCodeOf(err) !== 'ContainerNotFound') return undefined;
    throw azureError(ctx, err, 'stat', name, 'blob', options?.signal);
  }
}

async function* list(ctx: AzureCtx, prefix: string, options?: SignalOptions): AsyncIterable<ObjectInfo> {
  const full = ctx.prefix + prefix;
  try {
    const pages = ctx.containerClient.listBlobsFlat({ prefix: full, abortSignal: options?.signal }).byPage({ maxPageSize: LIST_PAGE });
    for await (const page of pages) {
      for (const item of page.segment.blobItems as BlobItem[]) yield infoOf(item.name.slice(ctx.prefix.length), item.properties);
    }
  } catch (err) {
    throw azureError(ctx, err, 'list', full, 'container', options?.signal);
  }
}

async function listDirs(ctx: AzureCtx, prefix: string, options?: SignalOptions): Promise<string[]> {
  assertDirPrefix(prefix);
  const full = ctx.prefix + prefix;
  const dirs: string[] = [];
  try {
    const pages = ctx.containerClient.listBlobsByHierarchy('/', { prefix: full, abortSignal: options?.signal })
      .byPage({ maxPageSize: LIST_PAGE });
    for await (const page of pages) {
      for (const p of page.segment.blobPrefixes ?? []) dirs.push(p.name.slice(full.length, -1));
    }
  } catch (err) {
    throw azureError(ctx, err, 'list', full, 'container', options?.signal);
  }
  return dirs;
}

async function get(ctx: AzureCtx, key: string, options?: GetOptions): Promise<Readable> {
  const name = ctx.prefix + key;
  try {
    options?.signal?.throwIfAborted();
    // A broken download is resumed by the SDK from where it stopped, pinned to the blob's ETag (never two versions).
    const response = await blob(ctx, key).download(0, undefined, { abortSignal: options?.signal, maxRetryRequests: 5 });
    const body = response.readableStreamBody as Readable | undefined;
    if (body === undefined) throw new StorageError(`Azure download of az://${ctx.account}/${ctx.container}/${name} had no body`, { permanent: false, code: 'NoBody' });
    return body;
  } catch (err) {
    throw azureError(ctx, err, 'download', name, 'blob', options?.signal);
  }
}

/**
 * Copy Blob within the account (the request's own authorization covers the source); Azure finishes such a copy
 * at once for a block blob, and the poller waits if it does not. The encryption scope comes with the pipeline.
 */
async function copy(ctx: AzureCtx, fromKey: string, toKey: string, options?: CopyOptions): Promise<ObjectInfo> {
  const from = ctx.prefix + fromKey;
  try {
    options?.signal?.throwIfAborted();
    const target = blob(ctx, toKey);
    const poller = await target.beginCopyFromURL(blob(ctx, fromKey).url, {
      abortSignal: options?.signal, ...(options?.storageClass === undefined ? {} : { tier: options.storageClass }),
    });
    const done = await poller.pollUntilDone();
    if (done.copyStatus !== undefined && done.copyStatus !== 'success') {
      throw new StorageError(`Azure copy of ${from} ended ${done.copyStatus}`, { permanent: false, code: 'CopyFailed' });
    }
    return infoOf(toKey, await target.getProperties({ abortSignal: options?.signal }));
  } catch (err) {
    throw azureError(ctx, err, 'copy', from, 'blob', options?.signal);
  }
}
