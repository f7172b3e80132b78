// S3 deletes: DeleteObjects in batches of 1,000; a key already gone is not an error, any other failed key is.
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { StorageError } from '../errors.ts';
import type { SignalOptions } from './backend.ts';
import { PERMANENT_CODES, s3Error } from './s3-errors.ts';
import type { MultipartCtx } from './s3-multipart.ts';

const DELETE_BATCH = 1000;

type DeleteCtx = Pick<MultipartCtx, 'client' | 's'>;

export async function deleteKeys(ctx: DeleteCtx, keys: readonly string[], options?: SignalOptions): Promise<void> {
  for (let i = 0; i < keys.length; i += DELETE_BATCH) {
    await deleteBatch(ctx, keys.slice(i, i + DELETE_BATCH), options?.signal);
  }
}

async function deleteBatch(ctx: DeleteCtx, keys: readonly string[], signal?: AbortSignal): Promise<void> {
  let errors;
  try {
    const out = await ctx.client.send(new DeleteObjectsCommand({
      Bucket: ctx.s.bucket, Delete: { Objects: keys.map((k) => ({ Key: ctx.s.prefix + k })), Quiet: true },
    }), { abortSignal: signal });
    errors = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
  } catch (err) {
    throw s3Error(err, 'DeleteObjects', ctx.s.bucket, undefined, signal);
  }
  // DeleteObjects answers 200 even when some keys failed; each failure is reported in the body.
  const first = errors[0];
  if (first === undefined) return;
  const code = first.Code ?? 'Unknown';
  throw new StorageError(
    `S3 could not delete ${errors.length} of ${keys.length} objects in bucket "${ctx.s.bucket}", ` +
      `first s3://${ctx.s.bucket}/${first.Key ?? '?'}: ${first.Message ?? ''} (${code})`,
    { permanent: errors.every((e) => PERMANENT_CODES.has(e.Code ?? '')), code },
  );
}
