// Incomplete multipart uploads (left by killed runs) for purge to find and abort: each one keeps its parts,
// and their cost, until it is aborted.
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, type MultipartUpload, type S3Client } from '@aws-sdk/client-s3';
import type { IncompleteUpload, SignalOptions } from './backend.ts';
import type { Settings } from './s3-config.ts';
import { errorCode, s3Error } from './s3-errors.ts';

export interface IncompleteCtx {
  readonly client: S3Client;
  readonly s: Settings;
}

interface Marker {
  readonly key?: string | undefined;
  readonly uploadId?: string | undefined;
}

/** Where a listing goes on, and the upload ids it will be shown again there and has already yielded. */
interface Resume {
  readonly marker: Marker;
  readonly repeats: ReadonlySet<string>;
}

/**
 * Every incomplete upload whose key starts with prefix (relative to the destination), page by page with
 * S3's KeyMarker/UploadIdMarker. A store that refuses its own upload-id marker (versitygw 1.7.0 does) is listed
 * on with key markers alone, see keyOnlyResume.
 */
export async function* listIncompleteUploads(
  ctx: IncompleteCtx, prefix: string, options?: SignalOptions, pageSize = 1000,
): AsyncIterable<IncompleteUpload> {
  const full = ctx.s.prefix + prefix;
  let at: Resume = { marker: {}, repeats: new Set() };
  let fallback: Resume | undefined;
  let keyOnly = false;
  for (;;) {
    let uploads: MultipartUpload[];
    let next: Marker | undefined;
    try {
      ({ uploads, next } = await listPage(ctx, full, at.marker, pageSize, options?.signal));
    } catch (err) {
      const refusedMarker = at.marker.uploadId !== undefined && errorCode(err) === 'InvalidArgument';
      if (keyOnly || !refusedMarker || fallback === undefined || options?.signal?.aborted) {
        throw s3Error(err, 'ListMultipartUploads', ctx.s.bucket, full, options?.signal);
      }
      keyOnly = true;
      at = fallback;
      continue;
    }
    for (const u of uploads) {
      if (u.Key === undefined || u.UploadId === undefined || at.repeats.has(u.UploadId)) continue;
      yield { key: u.Key.slice(ctx.s.prefix.length), uploadId: u.UploadId, ...(u.Initiated ? { initiated: u.Initiated } : {}) };
    }
    if (next === undefined || uploads.length === 0) return;
    fallback = keyOnlyResume(uploads);
    at = keyOnly || next.key === undefined || next.uploadId === undefined ? fallback : { marker: next, repeats: new Set() };
  }
}

/**
 * Resuming with a key marker alone lists only keys after it, so the page's last key (whose uploads may go on
 * in the next page) is listed again in full, from the key before it, and its uploads already yielded are skipped.
 * Only when one key's uploads fill a whole page are its further uploads missed (left for the next purge).
 */
function keyOnlyResume(uploads: readonly MultipartUpload[]): Resume {
  const last = uploads.at(-1)?.Key;
  const before = uploads.findLast((u) => u.Key !== last)?.Key;
  if (before === undefined) return { marker: { key: last }, repeats: new Set() };
  const repeats = new Set(uploads.filter((u) => u.Key === last).flatMap((u) => (u.UploadId === undefined ? [] : [u.UploadId])));
  return { marker: { key: before }, repeats };
}

async function listPage(ctx: IncompleteCtx, prefix: string, marker: Marker, pageSize: number, signal?: AbortSignal,
): Promise<{ uploads: MultipartUpload[]; next: Marker | undefined }> {
  const out = await ctx.client.send(new ListMultipartUploadsCommand({
    Bucket: ctx.s.bucket, Prefix: prefix, MaxUploads: pageSize,
    ...(marker.key === undefined ? {} : { KeyMarker: marker.key }),
    ...(marker.uploadId === undefined ? {} : { UploadIdMarker: marker.uploadId }),
  }), { abortSignal: signal });
  const next = out.IsTruncated === true ? { key: out.NextKeyMarker, uploadId: out.NextUploadIdMarker } : undefined;
  return { uploads: out.Uploads ?? [], next };
}

/** Aborts one listed upload; one that is already gone (completed or aborted meanwhile) is not an error. */
export async function abortIncompleteUpload(ctx: IncompleteCtx, upload: IncompleteUpload, options?: SignalOptions): Promise<void> {
  const full = ctx.s.prefix + upload.key;
  try {
    await ctx.client.send(new AbortMultipartUploadCommand({ Bucket: ctx.s.bucket, Key: full, UploadId: upload.uploadId }),
      { abortSignal: options?.signal });
  } catch (err) {
    if (errorCode(err) === 'NoSuchUpload' && !options?.signal?.aborted) return;
    throw s3Error(err, 'AbortMultipartUpload', ctx.s.bucket, full, options?.signal);
  }
}
