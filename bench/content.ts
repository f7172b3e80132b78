// The workloads' file content (bench/generate.ts writes it; bench/sink.ts serves it again on GET without having
// kept it): one 1 MiB pseudo-random block, seeded, in which the first 16 bytes of every block are replaced by the
// file's number and the block's number (and both XORed with a constant), so that no two blocks of a tree are equal.
// A file is therefore fully described by (file number, size); its bytes at any offset can be made at memory speed.

/** Seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const BLOCK = 1024 * 1024;

/** A fresh copy of the seeded block (its first 16 bytes are overwritten by stampBlock). */
export function seededBlock(): Buffer {
  const block = Buffer.alloc(BLOCK);
  const r = rng(0xc0ffee);
  for (let i = 0; i < BLOCK; i += 4) block.writeUInt32LE(Math.floor(r() * 2 ** 32), i);
  return block;
}

/** Makes `block` block number `blockNo` of file number `fileNo`. */
export function stampBlock(block: Buffer, fileNo: number, blockNo: number): void {
  block.writeUInt32LE(fileNo, 0);
  block.writeUInt32LE(blockNo, 4);
  block.writeUInt32LE((fileNo ^ 0x5bd1e995) >>> 0, 8);
  block.writeUInt32LE((blockNo ^ 0x9e3779b9) >>> 0, 12);
}

/** The (file number, block number) a block of generated content starts with, or undefined if it is not such a block. */
export function readStamp(head: Buffer): { fileNo: number; blockNo: number } | undefined {
  if (head.length < 16) return undefined;
  const fileNo = head.readUInt32LE(0);
  const blockNo = head.readUInt32LE(4);
  if (head.readUInt32LE(8) !== ((fileNo ^ 0x5bd1e995) >>> 0) || head.readUInt32LE(12) !== ((blockNo ^ 0x9e3779b9) >>> 0)) return undefined;
  return { fileNo, blockNo };
}
