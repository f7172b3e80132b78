// Installing on a node: the package's bin on an old Node (Debian and Ubuntu often have Node 20) says what it needs
// in one line and exits 2 instead of a dependency's stack trace; `npm pack` from a fresh clone (no dist/) builds
// and ships a package that installs with npm and runs `--version` and `detect`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { baseEnv, cliPath, repoRoot, requireEnv, runProgram, tempDir } from '../support/run-cli.ts';

/** An installed Node older than 22 (the machine's /usr/bin/node here, Node 20), or why there is none. */
const OLD_NODE = process.env.CBR_OLD_NODE ?? '/usr/bin/node';
function oldNodeVersion(): string | undefined {
  if (!existsSync(OLD_NODE)) return undefined;
  const v = execFileSync(OLD_NODE, ['--version'], { encoding: 'utf8' }).trim();
  return Number(/^v(\d+)\./.exec(v)?.[1]) < 22 ? v : undefined;
}
const oldNode = oldNodeVersion();
const skipOld = oldNode === undefined ? `no Node older than 22 at ${OLD_NODE} (CBR_OLD_NODE)` : false;

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string> };

function assertOldNodeRefused(run: { exitCode: number; stdout: string; stderr: string }, version: string): void {
  assert.equal(run.exitCode, 2, run.stderr);
  assert.equal(run.stderr, `cass-backup-run: error: Node.js >= 22 is required (this is ${version})\n`, 'one line, no stack trace');
  assert.equal(run.stdout, '');
}

/** A directory with `node` as its only program, that Node: a host whose only Node is that one. */
function pathWithOnlyNode(node: string): string {
  const dir = tempDir('old-node-path');
  symlinkSync(node, join(dir, 'node'));
  return dir;
}

/** What a fresh clone of the working tree holds: the tracked files and new ones git does not ignore (no dist/). */
function freshClone(): string {
  const dir = tempDir('fresh-clone');
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' })
    .split('\0').filter((f) => f !== '' && existsSync(join(repoRoot, f)));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(repoRoot, f), join(dir, f));
  }
  // As after `npm ci` (the same dependencies, without downloading them again).
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** npm with the developer's own HOME (its cache) and the Node >= 22 this test runs under first on PATH. */
function npm(args: readonly string[], cwd: string): string {
  return execFileSync('npm', ['--no-audit', '--no-fund', '--loglevel=error', ...args], {
    cwd, encoding: 'utf8', timeout: 600_000, env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
  });
}

describe('install on a node', () => {
  it('the bin is dist/entry.js', () => {
    assert.deepEqual(pkg.bin, { 'cass-backup-run': 'dist/entry.js' });
    assert.equal(cliPath, join(repoRoot, 'dist', 'entry.js'));
  });

  it(`on Node < 22 (${oldNode ?? 'none'}) --version and snapshot print one line and exit 2`, { skip: skipOld }, async () => {
    const version = oldNode!;
    assertOldNodeRefused(await runProgram(OLD_NODE, [cliPath, '--version'], baseEnv(), 60_000), version);
    const snapshot = await runProgram(OLD_NODE, [cliPath, 'snapshot', 'ks1', '-t', 'nightly', '--dest', 'file:///nonexistent'], baseEnv(), 60_000);
    assertOldNodeRefused(snapshot, version);
  });

  it('npm pack from a fresh clone builds dist/ and ships a package that installs and runs --version and detect', { timeout: 900_000 }, async (t) => {
    const temporary: string[] = [];
    t.after(() => { for (const d of temporary) rmSync(d, { recursive: true, force: true }); }); // ~50 MiB installed
    const clone = freshClone();
    temporary.push(clone);
    assert.equal(existsSync(join(clone, 'dist')), false, 'a fresh clone has no dist/');
    const out = tempDir('pack');
    temporary.push(out);
    npm(['pack', '--pack-destination', out], clone);
    const tarballs = readdirSync(out).filter((f) => f.endsWith('.tgz'));
    assert.deepEqual(tarballs, [`${pkg.name}-${pkg.version}.tgz`]);
    const tarball = join(out, tarballs[0]!);

    const listed = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter((l) => l !== '');
    for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/entry.js', 'dist/main.js', 'dist/node-version.js', 'dist/storage/s3.js', 'dist/storage/gcs.js']) {
      assert.ok(listed.includes(`package/${f}`), `the package ships ${f}`);
    }
    const stray = listed.filter((l) => /^package\/(src|test|scripts|build|bench|node_modules|\.ci)\//.test(l) || l.endsWith('.ts'));
    assert.deepEqual(stray, [], 'only the build, README, LICENSE and package.json');
    const license = execFileSync('tar', ['-xzOf', tarball, 'package/LICENSE'], { encoding: 'utf8' });
    assert.match(license, /Apache License\s+Version 2\.0, January 2004/);

    const prefix = tempDir('prefix');
    temporary.push(prefix);
    npm(['install', '--global', '--prefer-offline', '--prefix', prefix, tarball], out);
    const bin = join(prefix, 'bin', 'cass-backup-run');
    const version = await runProgram(bin, ['--version'], baseEnv(), 60_000);
    assert.equal(version.exitCode, 0, version.stderr);
    assert.equal(version.stdout.trim(), pkg.version);
    const detect = await runProgram(bin, ['detect', '--json', '--cassandra-yaml', requireEnv('CBR_CASSANDRA_YAML')], baseEnv(), 60_000);
    assert.equal(detect.exitCode, 0, detect.stderr);
    const report = JSON.parse(detect.stdout) as { cloud: { cloud: string }; dataDirs: string[] };
    assert.equal(report.cloud.cloud, 'none');
    assert.deepEqual(report.dataDirs, requireEnv('CBR_DATA_DIRS').split(':'));
    if (oldNode !== undefined) {
      // The installed bin (#!/usr/bin/env node) on a host whose only node is the old one: the same one line.
      assertOldNodeRefused(await runProgram(bin, ['--version'], baseEnv({ PATH: pathWithOnlyNode(OLD_NODE) }), 60_000), oldNode);
    }
  });
});
