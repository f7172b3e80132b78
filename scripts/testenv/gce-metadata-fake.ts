// A small stand-in for the GCE metadata server (http://metadata.google.internal), for loopback tests.
// Like the real one, it answers only requests carrying `Metadata-Flavor: Google` and marks every answer with it.
import { createServer, type Server } from 'node:http';

export interface GceFacts {
  readonly projectId: string;
  readonly numericProjectId: string;
  readonly instanceId: string;
  readonly zone: string;
  readonly hostname: string;
  readonly serviceAccount: string;
}

export const defaultGceFacts: GceFacts = {
  projectId: 'cbr-test-project',
  numericProjectId: '123456789012',
  instanceId: '4520031799277581759',
  zone: 'us-central1-a',
  hostname: 'cass-test-1.us-central1-a.c.cbr-test-project.internal',
  serviceAccount: 'cbr-test@cbr-test-project.iam.gserviceaccount.com',
};

function answers(facts: GceFacts): Map<string, string> {
  const v1 = '/computeMetadata/v1/';
  return new Map([
    [v1, 'instance/\nproject/\n'],
    [`${v1}project/project-id`, facts.projectId],
    [`${v1}project/numeric-project-id`, facts.numericProjectId],
    [`${v1}instance/id`, facts.instanceId],
    [`${v1}instance/zone`, `projects/${facts.numericProjectId}/zones/${facts.zone}`],
    [`${v1}instance/hostname`, facts.hostname],
    [`${v1}instance/name`, facts.hostname.split('.')[0] ?? facts.hostname],
    [`${v1}instance/service-accounts/default/email`, facts.serviceAccount],
    [`${v1}instance/service-accounts/default/scopes`, 'https://www.googleapis.com/auth/devstorage.read_write\n'],
    [`${v1}instance/service-accounts/default/token`,
      JSON.stringify({ access_token: 'fake-gce-access-token', expires_in: 3599, token_type: 'Bearer' })],
  ]);
}

export function createGceMetadataServer(facts: GceFacts = defaultGceFacts): Server {
  const table = answers(facts);
  return createServer((req, res) => {
    res.setHeader('Metadata-Flavor', 'Google');
    res.setHeader('Server', 'Metadata Server for VM');
    if (req.headers['metadata-flavor'] !== 'Google') {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end('Missing Metadata-Flavor: Google header\n');
      return;
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = table.get(path);
    if (body === undefined) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    const type = body.startsWith('{') ? 'application/json' : 'application/text';
    res.writeHead(200, { 'Content-Type': type }).end(body);
  });
}

if (import.meta.main) {
  const port = Number(process.env.GCE_FAKE_PORT ?? 8089);
  const server = createGceMetadataServer();
  server.listen(port, '127.0.0.1', () => console.log(`gce metadata fake on 127.0.0.1:${port}`));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => server.close(() => process.exit(0)));
}
