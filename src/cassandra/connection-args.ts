// nodetool's own connection options (-h -p -u -pwf), accepted among the passed-through arguments so that
// `cass-backup-run snapshot -h host -p 7199 …` works in place of `nodetool -h host -p 7199 snapshot …`. Pure.
import { UsageError } from '../errors.ts';

export interface ConnectionFromArgs {
  readonly args: string[];
  readonly connection: { host?: string; port?: number; username?: string; passwordFile?: string };
}

const VALUE_OPTIONS: Record<string, 'host' | 'port' | 'username' | 'passwordFile' | 'password'> = {
  '-h': 'host', '--host': 'host', '-p': 'port', '--port': 'port', '-u': 'username', '--username': 'username',
  '-pwf': 'passwordFile', '--password-file': 'passwordFile', '-pw': 'password', '--password': 'password',
};

export function connectionFromArgs(input: readonly string[]): ConnectionFromArgs {
  const args: string[] = [];
  const connection: ConnectionFromArgs['connection'] = {};
  for (let i = 0; i < input.length; i++) {
    const arg = input[i] ?? '';
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const field = VALUE_OPTIONS[flag];
    if (field === undefined) {
      args.push(arg);
      continue;
    }
    const value = inline ?? input[++i];
    if (value === undefined) throw new UsageError(`nodetool option ${flag} needs a value`);
    if (field === 'password') {
      throw new UsageError(`a JMX password is never put on a command line: use -pwf FILE (or --nodetool-password-file FILE)`);
    }
    if (field === 'port') {
      const port = Number(value);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`nodetool ${flag} must be a port number, got "${value}"`);
      connection.port = port;
    } else {
      connection[field] = value;
    }
  }
  return { args, connection };
}
