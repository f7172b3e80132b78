// Listing objects and "directories" (common prefixes) of an S3 bucket under the adapter's prefix, page by page.
import { ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectInfo, SignalOptions } from './backend.ts';
import { assertDirPrefix } from './prefix.ts';
import { s3Error, unquote } from './s3-errors.ts';

export interface ListCtx {
  readonly client: S3Client;
  readonly s: { readonly bucket: string; readonly prefix: string };
}

async function listPage(
  ctx: ListCtx, prefix: string, token: string | undefined, delimiter: string | undefined, signal?: AbortSignal,
): Promise<ListObjectsV2CommandOutput> {
  try {
    return await ctx.client.send(new ListObjectsV2Command({
      Bucket: ctx.s.bucket, Prefix: prefix, ContinuationToken: token, Delimiter: delimiter,
    }), { abortSignal: signal });
  } catch (err) {
    throw s3Error(err, 'ListObjectsV2', ctx.s.bucket, prefix, signal);
  }
}

export async function* list(ctx: ListCtx, prefix: string, options?: SignalOptions): AsyncIterable<ObjectInfo> {
  let token: string | undefined;
  do {
    const page = await listPage(ctx, ctx.s.prefix + prefix, token, undefined, options?.signal);
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined) continue;
      yield { key: o.Key.slice(ctx.s.prefix.length), size: o.Size ?? 0, etag: unquote(o.ETag), lastModified: o.LastModified };
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}

export async function listDirs(ctx: ListCtx, prefix: string, options?: SignalOptions): Promise<string[]> {
  assertDirPrefix(prefix);
  const full = ctx.s.prefix + prefix;
  const dirs: string[] = [];
  let token: string | undefined;
  do {
    const page = await listPage(ctx, full, token, '/', options?.signal);
    for (const p of page.CommonPrefixes ?? []) {
      if (p.Prefix !== undefined) dirs.push(p.Prefix.slice(full.length, -1));
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return dirs;
}
