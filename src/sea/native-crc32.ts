// '@node-rs/crc32' inside the single executable (scripts/binary/bundle.ts aliases the package to this module). The
// native CRC32C addon travels as the SEA asset `crc32.node`; a process can load an addon only from a file, so on
// first use it is written into a fresh private directory, loaded, and removed again (Linux keeps a loaded library
// mapped after its file is gone). No cache to trust or go stale: the binary runs as root, and a cached library in a
// directory someone else could write to would be theirs to replace. --version and detect never touch the disk.
import { getRawAsset } from 'node:sea';
import { loadAddonFromBytes, type Crc32Addon } from './load-addon.ts';

export const CRC32_ASSET = 'crc32.node';

/** The addon, or why it cannot be loaded: tried once per process, not once per file hashed. */
let outcome: { addon: Crc32Addon } | { error: unknown } | undefined;

function loaded(): Crc32Addon {
  outcome ??= load();
  if ('error' in outcome) throw outcome.error;
  return outcome.addon;
}

function load(): { addon: Crc32Addon } | { error: unknown } {
  try {
    return { addon: loadAddonFromBytes<Crc32Addon>(new Uint8Array(getRawAsset(CRC32_ASSET)), 'crc32c') };
  } catch (error) {
    return { error };
  }
}

export function crc32c(input: Uint8Array | string, initialState?: number | null): number {
  return loaded().crc32c(input, initialState);
}

export function crc32(input: Uint8Array | string, initialState?: number | null): number {
  return loaded().crc32(input, initialState);
}
