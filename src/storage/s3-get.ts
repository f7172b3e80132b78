// Reading one object: the direct signed GET (s3-direct-get.ts) first, the SDK's GetObject where that answers
// undefined. Once the SDK succeeds where a direct request was refused, every later get goes through the SDK
// rather than costing two requests.
import { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ByteRange, GetOptions, SignalOptions } from './backend.ts';
import { SinkFailure, type RangeSink } from './raw-http-range.ts';
import { httpRange, type DirectGet } from './s3-direct-get.ts';
import { s3Error } from './s3-errors.ts';

export interface GetCtx {
  readonly client: S3Client;
  readonly directGet: DirectGet;
  /** `sse.read`: SSE-C's customer key, which every read must carry (the direct GET does not sign it: the SDK reads then). */
  readonly s: { readonly bucket: string; readonly prefix: string; readonly sse?: { readonly read: Readonly<Record<string, string | undefined>> } };
}

export async function getObject(ctx: GetCtx, key: string, options?: GetOptions): Promise<Readable> {
  const full = ctx.s.prefix + key;
  try {
    const range = options?.range;
    const customerKey = readsNeedCustomerKey(ctx);
    const fast = customerKey ? undefined : await ctx.directGet.get(full, options?.signal, range);
    if (fast !== undefined) return fast;
    const out = await ctx.client.send(new GetObjectCommand({
      Bucket: ctx.s.bucket, Key: full, ...(range === undefined ? {} : { Range: httpRange(range) }), ...ctx.s.sse?.read,
    }),
      { abortSignal: options?.signal });
    if (!(out.Body instanceof Readable)) throw new Error('GetObject returned no stream body');
    if (!customerKey) ctx.directGet.disable();
    return out.Body;
  } catch (err) {
    throw s3Error(err, 'GetObject', ctx.s.bucket, full, options?.signal);
  }
}

/** Backend.getRangeInto: through the direct GET's own connections where it can (plain http, no SSE-C key). */
export async function getRangeInto(ctx: GetCtx, key: string, range: ByteRange, sink: RangeSink, options?: SignalOptions): Promise<boolean> {
  if (readsNeedCustomerKey(ctx)) return false;
  const full = ctx.s.prefix + key;
  try {
    return await ctx.directGet.getRangeInto(full, range, sink, options?.signal);
  } catch (err) {
    if (err instanceof SinkFailure) throw err.cause;
    throw s3Error(err, 'GetObject', ctx.s.bucket, full, options?.signal);
  }
}

/** SSE-C: every read must carry the customer's key, which the direct requests do not sign. */
function readsNeedCustomerKey(ctx: GetCtx): boolean {
  return Object.keys(ctx.s.sse?.read ?? {}).length > 0;
}
