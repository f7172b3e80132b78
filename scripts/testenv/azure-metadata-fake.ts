// A small stand-in for the Azure Instance Metadata Service (http://169.254.169.254/metadata/instance), for loopback
// tests. Like the real one, it answers only requests carrying `Metadata: true` (400 otherwise), refuses requests
// that came through a proxy (X-Forwarded-For), and wants an api-version.
import { createServer, type Server } from 'node:http';

export interface AzureFacts {
  readonly vmId: string;
  readonly name: string;
  readonly computerName: string;
  readonly location: string;
  readonly zone: string;
  readonly subscriptionId: string;
  readonly resourceGroupName: string;
}

export const defaultAzureFacts: AzureFacts = {
  vmId: '02aab8a4-74ef-476e-8182-f6d2ba4166a6',
  name: 'cass-test-1',
  computerName: 'cass-test-1',
  location: 'westeurope',
  zone: '2',
  subscriptionId: '8d10da13-8125-4ba9-a717-bf7490507b3d',
  resourceGroupName: 'cbr-test',
};

function instanceDocument(f: AzureFacts): unknown {
  return {
    compute: {
      azEnvironment: 'AzurePublicCloud', location: f.location, name: f.name, osType: 'Linux',
      osProfile: { adminUsername: 'azureuser', computerName: f.computerName, disablePasswordAuthentication: 'true' },
      resourceGroupName: f.resourceGroupName, subscriptionId: f.subscriptionId, vmId: f.vmId, vmSize: 'Standard_E8s_v5', zone: f.zone,
    },
    network: { interface: [] },
  };
}

export function createAzureMetadataServer(facts: AzureFacts = defaultAzureFacts): Server {
  const body = JSON.stringify(instanceDocument(facts));
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const error = (status: number, message: string): void => {
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: message }));
    };
    if (req.headers['metadata'] !== 'true') return error(400, 'Bad request. Required metadata header not specified');
    if (req.headers['x-forwarded-for'] !== undefined) return error(400, 'Bad request. Forwarded requests are not allowed');
    if (url.searchParams.get('api-version') === null) return error(400, 'Bad request. api-version was not specified in the request');
    if (url.pathname !== '/metadata/instance') return error(404, 'Not found');
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' }).end(body);
  });
}

if (import.meta.main) {
  const port = Number(process.env.AZURE_FAKE_PORT ?? 8090);
  const server = createAzureMetadataServer();
  server.listen(port, '127.0.0.1', () => console.log(`azure metadata fake on 127.0.0.1:${port}`));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => server.close(() => process.exit(0)));
}
