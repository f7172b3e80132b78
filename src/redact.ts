// Keeps secrets out of every line the tool prints: credentials in URLs and the values of secret variables.
const SECRET_ENV = ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'GOOGLE_APPLICATION_CREDENTIALS_JSON', 'CASS_BACKUP_NODETOOL_PASSWORD',
  'AZURE_STORAGE_KEY', 'AZURE_STORAGE_CONNECTION_STRING', 'AZURE_CLIENT_SECRET'];

export function redact(text: string, env: NodeJS.ProcessEnv): string {
  let out = text.replace(/(\/\/)([^/@\s:]+):([^/@\s]+)@/g, '$1$2:***@');
  for (const name of SECRET_ENV) {
    const value = env[name];
    if (value && value.length >= 4) out = out.split(value).join('***');
  }
  return out;
}
