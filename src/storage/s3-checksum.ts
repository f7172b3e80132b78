// The S3 SDK's CRC32C (its `checksumAlgorithms.CRC32C`): native instead of the SDK's pure-JavaScript one, and
// free for chunks the hashing source has already hashed on their way out (crc32cOfKnown), so that a multipart
// part's request checksum, which the store verifies, is not a second pass over its bytes.
import { crc32cExtend } from '../checksum/crc32c.ts';

export class KnownCrc32c {
  private crc = 0;
  update(chunk: Uint8Array): void {
    this.crc = crc32cExtend(this.crc, chunk);
  }
  digest(): Promise<Uint8Array> {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, this.crc >>> 0);
    return Promise.resolve(out);
  }
  reset(): void {
    this.crc = 0;
  }
}
