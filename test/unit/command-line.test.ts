import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closestMatch, didYouMean, editDistance } from '../../src/config/suggest.ts';
import { splitArguments } from '../../src/config/command-line.ts';
import { findNodetoolOption, nodetoolOptionNames } from '../../src/cassandra/nodetool-options.ts';
import { UsageError } from '../../src/errors.ts';

describe('suggestions', () => {
  it('edit distance counts insertions, deletions, substitutions and swapped neighbours as one', () => {
    assert.equal(editDistance('', ''), 0);
    assert.equal(editDistance('abc', ''), 3);
    assert.equal(editDistance('--keep-snapshots', '--keep-snapshot'), 1);
    assert.equal(editDistance('--dets', '--dest'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('--skip-flsh', '--skip-flush'), 1);
  });

  it('suggests only a likely typo, preferring the nearest and then the first listed', () => {
    const ours = ['--keep-snapshot', '--resume', '--dest', '--data-dir'];
    assert.equal(closestMatch('--keep-snapshots', [...ours, '-kt']), '--keep-snapshot');
    assert.equal(closestMatch('-keep-snapshot', ours), '--keep-snapshot');
    assert.equal(closestMatch('--Dest', ours), '--dest');
    assert.equal(closestMatch('--frobnicate', ours), undefined);
    assert.equal(closestMatch('--ttl', ['--tag']), undefined, 'two edits in three letters is not a typo');
    assert.equal(closestMatch('-x', ['-t', '-u']), '-t', 'ties go to the first');
    assert.equal(closestMatch('--dest', ['--dest']), undefined, 'the word itself is no suggestion');
    assert.equal(didYouMean('--dets', ours), '; did you mean --dest?');
    assert.equal(didYouMean('--zzz', ours), '');
  });
});

describe('nodetool options (Cassandra 5.0)', () => {
  it('knows snapshot\'s and repair\'s options, their values, and the connection options of both', () => {
    assert.deepEqual(findNodetoolOption('snapshot', '-t'), { names: ['-t', '--tag'], takesValue: true });
    assert.equal(findNodetoolOption('snapshot', '--tag=x')?.takesValue, true);
    assert.equal(findNodetoolOption('snapshot', '-sf')?.takesValue, false);
    assert.equal(findNodetoolOption('snapshot', '-pr'), undefined);
    assert.equal(findNodetoolOption('repair', '-pr')?.takesValue, false);
    assert.equal(findNodetoolOption('repair', '-st')?.takesValue, true);
    for (const c of ['snapshot', 'repair'] as const) {
      for (const name of ['-h', '-p', '-pp', '-pwf', '-u', '--host', '--print-port']) assert.ok(nodetoolOptionNames(c).includes(name), `${c} ${name}`);
    }
  });
});

describe('splitting the command line', () => {
  const split = (...args: string[]) => splitArguments(args);
  const refuses = (args: string[], message: RegExp) =>
    assert.throws(() => splitArguments(args), (e: unknown) => e instanceof UsageError && message.test(e.message), args.join(' '));

  it('hands nodetool what is its own, in order, and the parser what is ours', () => {
    assert.deepEqual(split('snapshot', '-t', 'x', '--dest', 's3://b', '-kt', 'ks.t', '-sf', '--ttl', '1h', '--keep-snapshot'), {
      command: 'snapshot', ours: ['snapshot', '--dest=s3://b', '--keep-snapshot=true'], nodetool: ['-t', 'x', '-kt', 'ks.t', '-sf', '--ttl', '1h'],
    });
    assert.deepEqual(split('repair', '-pr', 'ks1', 't1', '-dc', 'dc1', '--delete-uploaded').nodetool, ['-pr', 'ks1', 't1', '-dc', 'dc1']);
    assert.deepEqual(split('snapshot', '--', '-odd').nodetool, ['--', '-odd']);
  });

  it('takes exactly one value per flag, so an option never swallows the command or nodetool\'s arguments', () => {
    assert.deepEqual(split('--data-dir', '/a', 'snapshot'), { command: 'snapshot', ours: ['snapshot', '--data-dir=/a'], nodetool: [] });
    assert.deepEqual(split('snapshot', '--data-dir', '/a', '-t', 'x', 'ks', '--data-dir=/b'),
      { command: 'snapshot', ours: ['snapshot', '--data-dir=/a', '--data-dir=/b'], nodetool: ['-t', 'x', 'ks'] });
    assert.deepEqual(split('restore', '--table', 'ks', 'latest', '--to', '/r').ours, ['restore', 'latest', '--table=ks', '--to=/r']);
    refuses(['snapshot', '--dest', 'a', '--dest', 'b'], /--dest is given more than once/);
    refuses(['snapshot', '--dest'], /--dest needs a value/);
    refuses(['snapshot', '--dest', '--json'], /--dest needs a value/);
    assert.deepEqual(split('list', '--node-id=--odd').ours, ['list', '--node-id=--odd']);
  });

  it('writes booleans out, --no-X included; an unreadable boolean is refused', () => {
    assert.deepEqual(split('list', '--json', '--no-s3-path-style', '--all-nodes=false').ours,
      ['list', '--json=true', '--s3-path-style=false', '--all-nodes=false']);
    refuses(['list', '--json=perhaps'], /--json: expected true or false, got "perhaps"/);
  });

  it('-h is help and -V version; after snapshot or repair, -h HOST is nodetool\'s host', () => {
    assert.deepEqual(split('-h').ours, ['--help']);
    assert.deepEqual(split('snapshot', '-h').ours, ['snapshot', '--help']);
    assert.deepEqual(split('-h', 'snapshot').ours, ['snapshot', '--help']);
    assert.deepEqual(split('list', '-V').ours, ['list', '--version']);
    assert.deepEqual(split('snapshot', '-h', 'db1', '-p', '7199', 'ks'), { command: 'snapshot', ours: ['snapshot'], nodetool: ['-h', 'db1', '-p', '7199', 'ks'] });
    refuses(['-h', 'db1', 'snapshot'], /-h means --help here, not "-h db1": nodetool's JMX host is --nodetool-host HOST/);
    refuses(['list', '-h', 'x'], /-h means --help here/);
  });

  it('refuses what is neither ours nor nodetool\'s, saying what was probably meant', () => {
    refuses(['snapshot', '--keep-snapshots'], /^unknown option --keep-snapshots: neither an option of cass-backup-run snapshot nor of nodetool snapshot \(Cassandra 5\.0\); did you mean --keep-snapshot\?/);
    refuses(['snapshot', '--skip-flsh'], /did you mean --skip-flush\?/);
    refuses(['repair', '--ful'], /did you mean --full\?/);
    refuses(['list', '--al-nodes'], /^unknown option --al-nodes: not an option of cass-backup-run list; did you mean --all-nodes\?/);
    refuses(['--dets', 'x', 'list'], /^unknown option --dets: not an option of cass-backup-run; did you mean --dest\?/);
    refuses(['snapshot', '-pr'], /-pr is an option of nodetool repair, not of nodetool snapshot/);
    refuses(['-t', 'x', 'snapshot'], /-t is an option of nodetool snapshot: put it after the command/);
    refuses(['list', '--keep-last', '2'], /--keep-last is an option of purge, not of list/);
    refuses(['--keep-snapshot', 'list'], /--keep-snapshot is an option of snapshot, not of list/);
    refuses(['snapshot', '-tnightly'], /write the option and its value apart: -t nightly/);
    refuses(['snapshot', '-t'], /nodetool snapshot option -t needs a value/);
    refuses(['snapshto'], /^unknown command "snapshto" \(did you mean snapshot\?\)/);
    refuses(['list', 'extra', '--', '-x'], /list takes no argument that starts with "-"/);
  });

  it('accepts a command\'s own option before the command', () => {
    assert.deepEqual(split('--keep-snapshot', 'snapshot', 'ks').ours, ['snapshot', '--keep-snapshot=true']);
  });
});
