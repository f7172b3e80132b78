// What the operator does with a restored directory. Pure text.
import { join } from 'node:path';
import type { TableSummary } from './plan.ts';

/** `nodetool import` takes the directory of one table's SSTables (it moves them unless --copy-data). */
export function importCommand(root: string, t: TableSummary): string {
  return ['nodetool', 'import', t.keyspace, t.table, shellQuote(join(root, t.path))].join(' ');
}

export function nextSteps(root: string, tables: readonly TableSummary[]): string {
  const lines = [
    'Next steps. Each table must exist with the same schema (the CREATE statements from the snapshot are listed below).',
    '',
    '1. With the node running, load each table (nodetool import moves the files in, then rebuilds secondary indexes):',
    ...tables.map((t) => `     ${importCommand(root, t)}`),
    '',
    '2. Or stream them to the cluster, whatever its topology now (the directory names say keyspace and table):',
    ...tables.map((t) => `     sstableloader -d <host> ${shellQuote(join(root, t.path))}`),
    '',
    '3. Or, with the node stopped, copy each directory\'s files into the live table directory of the same name in a',
    '   data directory (<data_dir>/<keyspace>/<table>-<id>/; the id may differ if the table was recreated), then start it.',
  ];
  const schemas = tables.filter((t) => t.schema !== undefined);
  if (schemas.length > 0) {
    lines.push('', 'Table schemas from the snapshot:', ...schemas.map((t) => `     ${shellQuote(join(root, t.schema ?? ''))}`));
  }
  return `${lines.join('\n')}\n`;
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
