// The options a run uses: the configuration file (if any) read and checked, then every global option resolved
// from flag, environment, file and default, remembering where each value came from (`detect` shows it).
import { chooseConfigFile, loadConfigFile, type ReadText } from './config-file.ts';
import { resolveOptions, type ResolvedOptions } from './options.ts';

export interface EffectiveOptions extends ResolvedOptions {
  /** The configuration file that was read, if any. */
  readonly configFile: string | undefined;
}

export interface EffectiveOptionsDeps {
  readonly read?: ReadText;
  /** For tests: the path read when neither --config nor CASS_BACKUP_CONFIG names a file. */
  readonly defaultPath?: string;
}

export async function effectiveOptions(
  argv: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv, deps: EffectiveOptionsDeps = {},
): Promise<EffectiveOptions> {
  const file = await loadConfigFile(chooseConfigFile(argv, env, deps.defaultPath), deps.read);
  return { ...resolveOptions(argv, env, file), configFile: file?.path };
}
