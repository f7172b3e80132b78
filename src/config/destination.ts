// Where a run writes: from --dest, else BUCKET_NAME in the detected cloud (the old tool's behaviour). Pure.
import type { Cloud } from '../domain.ts';
import { UsageError } from '../errors.ts';

export type Destination =
  | { readonly scheme: 's3'; readonly bucket: string; readonly prefix: string }
  | { readonly scheme: 'gs'; readonly bucket: string; readonly prefix: string }
  /** az://<account>/<container>/<prefix>: `bucket` is the container. */
  | { readonly scheme: 'az'; readonly account: string; readonly bucket: string; readonly prefix: string }
  | { readonly scheme: 'file'; readonly path: string };

export function describeDestination(d: Destination): string {
  if (d.scheme === 'file') return `file://${d.path}`;
  if (d.scheme === 'az') return `az://${d.account}/${d.bucket}${d.prefix ? `/${d.prefix}` : ''}`;
  return `${d.scheme}://${d.bucket}${d.prefix ? `/${d.prefix}` : ''}`;
}

export function parseDestination(url: string): Destination {
  const m = /^(s3|gs|az|file):\/\/(.*)$/.exec(url);
  if (!m) throw new UsageError(`--dest must start with s3://, gs://, az:// or file:// (got "${url}")`);
  const scheme = m[1] as 's3' | 'gs' | 'az' | 'file';
  const rest = m[2] ?? '';
  if (scheme === 'az') return parseAzure(url, rest);
  if (scheme === 'file') {
    if (!rest.startsWith('/')) throw new UsageError(`--dest file:// needs an absolute path, e.g. file:///var/backups/cassandra`);
    return { scheme, path: `/${checkedPath(url, 'path', rest.slice(1))}` };
  }
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  checkBucketName(scheme, bucket);
  return { scheme, bucket, prefix: slash < 0 ? '' : checkedPath(url, 'prefix', rest.slice(slash + 1)) };
}

/**
 * The path or prefix without its one optional trailing slash. Refuses an empty, `.` or `..` segment (`a//b`,
 * `./a`, `a/../b`): some stores normalise such keys on write but not in listings, so list and verify would
 * later find no backups; on file:// they name another directory than the one written.
 */
function checkedPath(url: string, what: 'path' | 'prefix', raw: string): string {
  if (raw === '') return '';
  const path = raw.endsWith('/') ? raw.slice(0, -1) : raw;
  const bad = path.split('/').find((s) => s === '' || s === '.' || s === '..');
  if (bad === undefined) return path;
  const named = bad === '' ? 'an empty segment ("//")' : `a "${bad}" segment`;
  throw new UsageError(`--dest ${url}: the ${what} has ${named}; remove it, so that backups are written and listed ` +
    `under the same name (only one trailing "/" is allowed)`);
}

/** az://<account>/<container>[/<prefix>]. */
function parseAzure(url: string, rest: string): Destination {
  const [account = '', container = '', ...prefix] = rest.split('/');
  if (!/^[a-z0-9]{3,24}$/.test(account)) {
    throw new UsageError(`--dest ${url}: invalid Azure storage account "${account}": use 3-24 lower-case letters and digits ` +
      '(az://<account>/<container>/<prefix>)');
  }
  if (!/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/.test(container)) {
    throw new UsageError(`--dest ${url}: invalid Azure container name "${container}": use 3-63 lower-case letters, digits ` +
      'and single hyphens, starting and ending with a letter or digit');
  }
  return { scheme: 'az', account, bucket: container, prefix: checkedPath(url, 'prefix', prefix.join('/')) };
}

/** The bucket naming rules both clouds share (3-63 chars, lower case, digits, dots, hyphens; GCS also _). */
export function checkBucketName(scheme: 's3' | 'gs', bucket: string): void {
  const allowed = scheme === 'gs' ? /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/ : /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
  if (!allowed.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new UsageError(
      `invalid bucket name "${bucket}": use 3-63 characters, lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit`,
    );
  }
}

export function resolveDestination(opts: {
  dest?: string | undefined; bucket?: string | undefined; cloud: Cloud; azureAccount?: string | undefined;
}): Destination {
  if (opts.dest) return parseDestination(opts.dest);
  if (!opts.bucket) {
    throw new UsageError('no destination: set BUCKET_NAME (on AWS, GCE or Azure) or --dest s3://…, gs://…, az://… or file:///…');
  }
  if (opts.cloud === 'aws') return parseDestination(`s3://${opts.bucket}`);
  if (opts.cloud === 'gcp') return parseDestination(`gs://${opts.bucket}`);
  if (opts.cloud === 'azure') {
    if (!opts.azureAccount) {
      throw new UsageError(`BUCKET_NAME names the container on Azure; the storage account is missing: set AZURE_STORAGE_ACCOUNT ` +
        `(or --azure-account), or --dest az://<account>/${opts.bucket}`);
    }
    return parseDestination(`az://${opts.azureAccount}/${opts.bucket}`);
  }
  throw new UsageError(
    `BUCKET_NAME is set but no cloud was detected (no answer from the AWS, GCE or Azure metadata service): ` +
      `set --cloud aws|gcp|azure, or --dest s3://${opts.bucket} / gs://${opts.bucket} / az://<account>/${opts.bucket}`,
  );
}
