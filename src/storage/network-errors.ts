// Network failures that no retry fixes, for every adapter: the endpoint's host name does not exist (NXDOMAIN,
// ENOTFOUND), as with a mistyped endpoint or a region that is not one. A resolver that cannot answer right now
// says EAI_AGAIN instead, which stays transient.

/** The host name that does not resolve, when err (or its cause) is ENOTFOUND; '' when the error does not name it. */
export function unresolvedHost(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    const { code, hostname } = e as Error & { code?: unknown; hostname?: unknown };
    if (code === 'ENOTFOUND') {
      if (typeof hostname === 'string' && hostname !== '') return hostname;
      return /getaddrinfo ENOTFOUND (\S+)/.exec(e.message)?.[1] ?? '';
    }
    e = e.cause;
  }
  return undefined;
}

/** One line for an unresolved host, with what to check. */
export function unresolvedHostMessage(service: string, host: string, check: string): string {
  return `the ${service} endpoint host ${host === '' ? '' : `"${host}" `}does not resolve (ENOTFOUND): check ${check}`;
}
