// Reading one object: the direct signed GET (s3-direct-get.ts) first, the SDK's GetObject where that answers
// undefined. Once the SDK succeeds where a direct request was refused, every later get goes through the SDK
// rather than costing two requests.
import { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { GetOptions } from './backend.ts';
import { httpRange, type DirectGet } from './s3-direct-get.ts';
import { s3Error } from './s3-errors.ts';

export interface GetCtx {
  readonly client: S3Client;
  readonly directGet: DirectGet;
  readonly s: { readonly bucket: string; readonly prefix: string };
}

export async function getObject(ctx: GetCtx, key: string, options?: GetOptions): Promise<Readable> {
  const full = ctx.s.prefix + key;
  try {
    const range = options?.range;
    const fast = await ctx.directGet.get(full, options?.signal, range);
    if (fast !== undefined) return fast;
    const out = await ctx.client.send(new GetObjectCommand({
      Bucket: ctx.s.bucket, Key: full, ...(range === undefined ? {} : { Range: httpRange(range) }),
    }),
      { abortSignal: options?.signal });
    if (!(out.Body instanceof Readable)) throw new Error('GetObject returned no stream body');
    ctx.directGet.disable();
    return out.Body;
  } catch (err) {
    throw s3Error(err, 'GetObject', ctx.s.bucket, full, options?.signal);
  }
}
