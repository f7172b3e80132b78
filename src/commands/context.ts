// What every backup command receives: the resolved node, destination and the side-effecting ports.
// Commands import no adapter; main.ts builds this from real implementations, tests from in-process ones.
import type { CloudFacts, LocalFile } from '../domain.ts';
import type { Backend, PutSource } from '../storage/backend.ts';
import type { Reporter } from '../report.ts';
import type { CassandraFacts } from '../catalog/manifest.ts';
import type { RingMember } from '../cassandra/ring.ts';
import type { Lock } from '../lock.ts';
import type { Layout } from '../catalog/layouts.ts';
import type { SnapshotRegistry } from '../snapshot-registry.ts';
import type { ObjectEncryption } from '../crypto/object-encryption.ts';

export interface NodetoolPort {
  snapshot(args: readonly string[]): Promise<{ tag: string; args: string[] }>;
  clearSnapshot(tag: string): Promise<unknown>;
  repair(args: readonly string[]): Promise<unknown>;
  flush(keyspaces?: readonly string[]): Promise<unknown>;
  info(): Promise<CassandraFacts>;
  /** The ring as this node sees it (cluster backups). */
  ring(): Promise<RingMember[]>;
}

export interface Enumerated {
  readonly files: LocalFile[];
  readonly vanished: string[];
}

export interface EnumeratorPort {
  snapshot(dataDirs: readonly string[], tag: string): Promise<Enumerated>;
  backups(dataDirs: readonly string[]): Promise<Enumerated>;
  snapshotExists(dataDirs: readonly string[], tag: string): Promise<boolean>;
  hasTables(dataDirs: readonly string[]): Promise<boolean>;
}

export interface LocalFilesPort {
  openSource(file: LocalFile): PutSource;
  hashFile(file: LocalFile): Promise<number>;
  /** Current identity of a local file, or undefined if it is gone. */
  identity(absPath: string): Promise<{ size: number; mtimeMs: number; ino: number } | undefined>;
  remove(absPath: string): Promise<void>;
}

export interface HostIdMemory {
  remembered(): Promise<string | undefined>;
  remember(hostId: string): Promise<void>;
}

export interface BackupContext {
  readonly nodeId: string;
  readonly hostname: string;
  readonly cloud: CloudFacts;
  readonly dataDirs: readonly string[];
  /** The data directories were named by the operator (--data-dir or its variable), not read from cassandra.yaml. */
  readonly dataDirsGiven: boolean;
  readonly clusterNameFromYaml: string | undefined;
  readonly backend: Backend;
  readonly reporter: Reporter;
  readonly nodetool: NodetoolPort;
  readonly enumerate: EnumeratorPort;
  readonly files: LocalFilesPort;
  readonly stateDir: string;
  readonly toolVersion: string;
  readonly concurrency: number;
  readonly layout: Layout;
  readonly dryRun: boolean;
  readonly now: () => Date;
  readonly lock: (what: string) => Promise<Lock>;
  /** Snapshots this tool took and has not cleared (to clear stale ones after a crash). */
  readonly registry: SnapshotRegistry;
  readonly staleSnapshotAgeHours: number;
  /** Throws UsageError when a data disk is too full to take a snapshot. */
  readonly checkFreeSpace: () => Promise<void>;
  readonly pid: number;
  /** This machine's boot id (Linux), so that a lease left by a crashed run of this state directory is known dead. */
  readonly bootId: string | undefined;
  /** A run lease (this run's or another's) without a heartbeat for this long is dead. */
  readonly leaseTimeoutMs: number;
  /** Write under a node id whose latest backup names another Cassandra host id. */
  readonly allowHostIdChange: boolean;
  /** The Cassandra host id this state directory last backed up, per node id. */
  readonly hostIds: HostIdMemory;
  /** Client-side encryption of every object this backup stores (--encrypt-to); absent: off. */
  readonly encryption?: ObjectEncryption;
  /** The command line that resumes uploading a kept snapshot. */
  readonly resumeCommand: (tag: string) => string;
  readonly signal: AbortSignal;
}
