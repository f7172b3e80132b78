// Checks --json output against docs/events.schema.json, so that the document and the code cannot drift apart.
// A small validator for the part of JSON Schema (2020-12) the document uses: type, const, enum, properties,
// required, additionalProperties, items, oneOf, anyOf, $ref (local), minimum, maximum, pattern. A keyword it
// does not know fails loudly rather than passing unchecked.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './run-cli.ts';

type Schema = Record<string, unknown>;

const KNOWN = new Set(['$schema', 'title', 'description', 'type', 'const', 'enum', 'properties', 'required', 'additionalProperties',
  'items', 'oneOf', 'anyOf', '$ref', '$defs', 'minimum', 'maximum', 'pattern']);

export const eventsSchemaPath = join(repoRoot, 'docs', 'events.schema.json');

export function loadEventsSchema(): Schema {
  return JSON.parse(readFileSync(eventsSchemaPath, 'utf8')) as Schema;
}

/** Every way `value` fails `schema` (empty when it is valid). */
export function validate(root: Schema, value: unknown, schema: Schema = root, path = '$'): string[] {
  for (const k of Object.keys(schema)) if (!KNOWN.has(k)) throw new Error(`schema keyword ${k} at ${path} is not supported by this validator`);
  if (typeof schema.$ref === 'string') return validate(root, value, resolve(root, schema.$ref), path);
  const errors: string[] = [];
  if (schema.type !== undefined && !typeMatches(schema.type as string | string[], value)) {
    return [`${path}: ${JSON.stringify(value)} is not of type ${JSON.stringify(schema.type)}`];
  }
  if ('const' in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) errors.push(`${path}: must be ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${path}: ${value} < ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errors.push(`${path}: ${value} > ${schema.maximum}`);
  }
  if (typeof value === 'string' && typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) {
    errors.push(`${path}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((item, i) => errors.push(...validate(root, item, schema.items as Schema, `${path}[${i}]`)));
  }
  if (isObject(value)) errors.push(...validateObject(root, value, schema, path));
  if (Array.isArray(schema.oneOf)) {
    const results = (schema.oneOf as Schema[]).map((s) => validate(root, value, s, path));
    const passing = results.filter((r) => r.length === 0).length;
    if (passing !== 1) {
      const closest = results.reduce((a, b) => (b.length < a.length ? b : a));
      errors.push(passing === 0 ? `${path}: matches none of oneOf; closest: ${closest.join('; ')}` : `${path}: matches ${passing} of oneOf`);
    }
  }
  if (Array.isArray(schema.anyOf) && !(schema.anyOf as Schema[]).some((s) => validate(root, value, s, path).length === 0)) {
    errors.push(`${path}: matches none of anyOf`);
  }
  return errors;
}

function validateObject(root: Schema, value: Record<string, unknown>, schema: Schema, path: string): string[] {
  const errors: string[] = [];
  const props = (schema.properties ?? {}) as Record<string, Schema>;
  for (const r of (schema.required ?? []) as string[]) if (!(r in value)) errors.push(`${path}: ${r} is required`);
  for (const [k, v] of Object.entries(value)) {
    const sub = props[k];
    if (sub !== undefined) errors.push(...validate(root, v, sub, `${path}.${k}`));
    else if (schema.additionalProperties === false) errors.push(`${path}: ${k} is not documented`);
    else if (isObject(schema.additionalProperties)) errors.push(...validate(root, v, schema.additionalProperties, `${path}.${k}`));
  }
  return errors;
}

function resolve(root: Schema, ref: string): Schema {
  const m = /^#\/\$defs\/(.+)$/.exec(ref);
  const target = m ? (root.$defs as Record<string, Schema> | undefined)?.[m[1] ?? ''] : undefined;
  if (target === undefined) throw new Error(`cannot resolve ${ref}`);
  return target;
}

function typeMatches(type: string | string[], value: unknown): boolean {
  return (Array.isArray(type) ? type : [type]).some((t) => {
    switch (t) {
      case 'null': return value === null;
      case 'array': return Array.isArray(value);
      case 'object': return isObject(value);
      case 'integer': return Number.isInteger(value);
      case 'number': return typeof value === 'number' && Number.isFinite(value);
      default: return typeof value === t;
    }
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Fails with every problem of every line: each line of a --json run's stdout must be documented. */
export function assertDocumentedLines(stdout: string, what: string): Record<string, unknown>[] {
  const schema = loadEventsSchema();
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  const problems: string[] = [];
  const values = lines.map((line, i) => {
    const value = JSON.parse(line) as Record<string, unknown>;
    const errors = validate(schema, value);
    if (errors.length > 0) problems.push(`${what}, line ${i + 1} ${line.slice(0, 200)}:\n  ${errors.join('\n  ')}`);
    return value;
  });
  if (problems.length > 0) throw new Error(`undocumented --json output:\n${problems.join('\n')}`);
  return values;
}
