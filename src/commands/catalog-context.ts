// What the catalog commands (list, verify, restore, purge) receive. They need the destination and the node id,
// not Cassandra: restore and verify can run on any machine that can read the bucket.
import type { Backend } from '../storage/backend.ts';
import type { Reporter } from '../report.ts';
import type { Lock } from '../lock.ts';

export interface CatalogContext {
  /** This node's id (derived or --node-id): whose backups verify/restore/purge act on. */
  readonly nodeId: string;
  readonly backend: Backend;
  readonly reporter: Reporter;
  /** Data output (stdout): tables, reports, JSON documents. Progress and warnings go to the reporter. */
  readonly out: (text: string) => void;
  readonly json: boolean;
  /** --dry-run: read the catalog and say what would be done; write nothing, remotely or locally. */
  readonly dryRun: boolean;
  readonly stateDir: string;
  readonly concurrency: number;
  readonly now: () => Date;
  readonly signal: AbortSignal;
  /** Who this run is, for the lease a deleting purge announces in the bucket. */
  readonly hostname: string;
  readonly pid: number;
  readonly bootId: string | undefined;
  readonly toolVersion: string;
  /** A run lease without a heartbeat for this long is dead. */
  readonly leaseTimeoutMs: number;
  /** The node's run lock (purge --yes takes it); absent in tests that need none. */
  readonly lock?: ((what: string) => Promise<Lock>) | undefined;
}
