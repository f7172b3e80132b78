// --dry-run: reads pass through, writes are counted and dropped, so a dry run changes nothing remotely.
// A put's createOnly is ignored (nothing is written, so nothing can be refused); listing incomplete uploads is a
// read, aborting one a write.
import type { Backend, ObjectInfo, PutOptions, PutSource } from './backend.ts';

export function withDryRun(inner: Backend): Backend {
  const { listIncompleteUploads } = inner;
  return {
    description: `${inner.description} (dry run)`,
    ...(inner.storedAs === undefined ? {} : { storedAs: inner.storedAs }),
    put: async (key: string, source: PutSource, options?: PutOptions): Promise<ObjectInfo> => {
      options?.onBytes?.(0);
      return { key, size: source.size, etag: 'dry-run' };
    },
    copy: async (_from: string, to: string): Promise<ObjectInfo> => ({ key: to, size: 0, etag: 'dry-run' }),
    delete: async (): Promise<void> => {},
    list: (prefix, options) => inner.list(prefix, options),
    listDirs: (prefix, options) => inner.listDirs(prefix, options),
    stat: (key, options) => inner.stat(key, options),
    get: (key, options) => inner.get(key, options),
    ...(inner.getRangeInto === undefined ? {} : { getRangeInto: inner.getRangeInto.bind(inner) }),
    ...(listIncompleteUploads === undefined ? {} : {
      listIncompleteUploads: (prefix, options) => listIncompleteUploads.call(inner, prefix, options),
      abortIncompleteUpload: async (): Promise<void> => {},
    }),
    close: () => inner.close(),
  };
}
