// The ring as one node sees it, from `nodetool status` (host ids, data centers, racks, up/down, state) and
// `nodetool ring` (every token and its owner), and the keyspaces' replication from `nodetool describecluster`.
// Pure parsers of Cassandra 5.0's output.

export interface RingMember {
  readonly hostId: string;
  readonly address: string;
  readonly dataCenter: string;
  readonly rack: string;
  /** `U` or `D` as nodetool status shows it. */
  readonly status: 'up' | 'down';
  /** `N`ormal, `L`eaving, `J`oining, `M`oving. */
  readonly state: 'normal' | 'leaving' | 'joining' | 'moving';
  readonly tokens: readonly string[];
}

export interface KeyspaceReplication {
  readonly name: string;
  /** e.g. `NetworkTopologyStrategy`, `SimpleStrategy`, `LocalStrategy`. */
  readonly strategy: string;
  /** `{ dc1: '3' }` or `{ replication_factor: '2' }`. */
  readonly options: Readonly<Record<string, string>>;
}

const STATES = { N: 'normal', L: 'leaving', J: 'joining', M: 'moving' } as const;

/** Rows of `nodetool status`: `UN  127.0.0.3  91.1 KiB  16  66.7%  <host id>  r3`, under `Datacenter: <dc>` headers. */
export function parseStatus(text: string): Omit<RingMember, 'tokens'>[] {
  const out: Omit<RingMember, 'tokens'>[] = [];
  let dataCenter = '';
  for (const line of text.split(/\r?\n/)) {
    const dc = /^Datacenter:\s*(\S+)/.exec(line);
    if (dc?.[1] !== undefined) {
      dataCenter = dc[1];
      continue;
    }
    const m = /^([UD])([NLJM])\s+(\S+)\s+.*?\s([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\s+(\S+)\s*$/.exec(line);
    if (m === null) continue;
    const [, upDown, state, address, hostId, rack] = m;
    if (upDown === undefined || state === undefined || address === undefined || hostId === undefined || rack === undefined) continue;
    out.push({ hostId, address, dataCenter, rack, status: upDown === 'U' ? 'up' : 'down', state: STATES[state as keyof typeof STATES] });
  }
  return out;
}

/** Tokens by address from `nodetool ring`: `127.0.0.1  r1  Up  Normal  117.39 KiB  66.67%  -9223372036854775808`. */
export function parseRingTokens(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^(\S+)\s+\S+\s+(?:Up|Down|\?)\s+\S+\s+.*\s(-?\d+)\s*$/.exec(line);
    if (m?.[1] === undefined || m[2] === undefined) continue;
    out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
  }
  return out;
}

/** The ring: status rows with their tokens (an address nodetool ring did not list has none). */
export function joinRing(status: readonly Omit<RingMember, 'tokens'>[], tokens: ReadonlyMap<string, readonly string[]>): RingMember[] {
  return status.map((s) => ({ ...s, tokens: [...(tokens.get(s.address) ?? [])] })).sort((a, b) => a.hostId.localeCompare(b.hostId));
}

/** `ks -> Replication class: NetworkTopologyStrategy {dc1=3}` lines under `Keyspaces:` of `nodetool describecluster`. */
export function parseKeyspaces(text: string): KeyspaceReplication[] {
  const out: KeyspaceReplication[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(\w+)\s+->\s+Replication class:\s+(\w+)\s+\{(.*)\}\s*$/.exec(line);
    if (m?.[1] === undefined || m[2] === undefined || m[3] === undefined) continue;
    const options: Record<string, string> = {};
    for (const pair of m[3].split(',').map((p) => p.trim()).filter(Boolean)) {
      const [k, v] = pair.split('=');
      if (k !== undefined && v !== undefined) options[k.trim()] = v.trim();
    }
    out.push({ name: m[1], strategy: m[2], options });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** `Partitioner: org.apache.cassandra.dht.Murmur3Partitioner` of `nodetool describecluster`. */
export function parsePartitioner(text: string): string | undefined {
  return /^\s*Partitioner:\s*(\S+)/m.exec(text)?.[1];
}

/** Keyspaces a restore recreates: not Cassandra's own (system*, LocalStrategy). */
export function isUserKeyspace(k: KeyspaceReplication): boolean {
  return !k.name.startsWith('system') && k.strategy !== 'LocalStrategy';
}

/** `CREATE KEYSPACE` for a keyspace's replication as describecluster reported it. */
export function createKeyspaceStatement(k: KeyspaceReplication): string {
  const pairs = [`'class': '${k.strategy}'`, ...Object.entries(k.options).map(([o, v]) => `'${o}': '${v}'`)];
  return `CREATE KEYSPACE IF NOT EXISTS ${k.name} WITH replication = {${pairs.join(', ')}};`;
}
