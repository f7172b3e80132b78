// Plain data shared across layers. No behaviour, no imports.

/** A regular file found under a Cassandra data directory. */
export interface LocalFile {
  /** Absolute path of the data directory it was found under (one of data_file_directories). */
  readonly dataDir: string;
  /** POSIX path relative to dataDir, e.g. `ks1/t1-<id>/snapshots/<tag>/nb-1-big-Data.db`. */
  readonly relPath: string;
  readonly absPath: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

export type Cloud = 'aws' | 'gcp' | 'azure' | 'none';

/** What instance metadata (or the operator) says about the machine. */
export interface CloudFacts {
  readonly cloud: Cloud;
  readonly instanceId?: string;
  readonly hostname?: string;
  readonly region?: string;
  readonly zone?: string;
  readonly projectId?: string;
}

export type BackupKind = 'snapshot' | 'incremental';
