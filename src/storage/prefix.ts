// Key-prefix rules shared by the object-store adapters.

/** A destination's key prefix as adapters use it: '' for the root, else without a leading and with a trailing '/'. */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

/** listDirs takes a "directory": the root ('') or a prefix ending in '/'. */
export function assertDirPrefix(prefix: string): void {
  if (prefix !== '' && !prefix.endsWith('/')) throw new RangeError(`listDirs prefix must end with "/": ${prefix}`);
}
