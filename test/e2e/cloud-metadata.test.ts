// Cloud detection against the real loopback services: amazon-ec2-metadata-mock (IMDSv2 only) and the GCE
// metadata fake, both started by scripts/testenv.sh; and an Azure metadata fake this file serves itself. Every env
// handed to the code points every metadata variable at loopback, so the real 169.254.169.254 is never probed.
import { closedLoopbackPort, listen } from '../support/loopback.ts';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { detectCloud } from '../../src/cloud/detect.ts';
import { probeGcp } from '../../src/cloud/gce.ts';
import { probeAws } from '../../src/cloud/imds.ts';
import { defaultGceFacts } from '../../scripts/testenv/gce-metadata-fake.ts';
import { createAzureMetadataServer, defaultAzureFacts } from '../../scripts/testenv/azure-metadata-fake.ts';
import { probeAzure } from '../../src/cloud/azure-imds.ts';
import { hostname } from 'node:os';
import { baseEnv, requireEnv, runCli } from '../support/run-cli.ts';

/** The loopback address of a running test service, or a failure that says how to start it. */
function loopbackService(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run \`scripts/testenv.sh up\` and \`source .testenv/env.sh\` first`);
  }
  const { hostname } = new URL(value.includes('://') ? value : `http://${value}`);
  assert.ok(['127.0.0.1', 'localhost', '[::1]'].includes(hostname), `${name}=${value} is not a loopback address`);
  return value;
}

const awsFacts = {
  cloud: 'aws', instanceId: 'i-0cbr1234567890abc', hostname: 'ip-10-0-0-17.ec2.internal',
  region: 'us-east-1', zone: 'us-east-1a',
};
const gcpFacts = {
  cloud: 'gcp', instanceId: defaultGceFacts.instanceId, hostname: defaultGceFacts.hostname,
  region: 'us-central1', zone: defaultGceFacts.zone, projectId: defaultGceFacts.projectId,
};
const timeoutMs = 2000;

describe('cloud metadata against the loopback services', () => {
  let imds = '';
  let gceHost = '';
  let closed = '';
  let impostor: Server | undefined; // Answers 200 to everything, without Metadata-Flavor: a web server, not GCE.
  let impostorHost = '';

  before(async () => {
    imds = loopbackService('CBR_IMDS_ENDPOINT');
    gceHost = loopbackService('CBR_GCE_METADATA_HOST');
    impostor = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end('12345\n'));
    impostorHost = `127.0.0.1:${await listen(impostor)}`;
    // After the impostor binds: a port released first could be handed straight back to it.
    closed = `127.0.0.1:${await closedLoopbackPort()}`;
  });
  after(async () => {
    const server = impostor;
    if (!server) return; // before() failed early
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('probeAws reads the instance facts with an IMDSv2 token', async () => {
    assert.deepEqual(await probeAws({ endpoint: imds, timeoutMs }), awsFacts);
    assert.deepEqual(await probeAws({ endpoint: `${imds}/`, timeoutMs }), awsFacts, 'a trailing slash is fine');
  });

  it('probeGcp reads the instance facts', async () => {
    assert.deepEqual(await probeGcp({ host: gceHost, timeoutMs }), gcpFacts);
    assert.deepEqual(await probeGcp({ host: `http://${gceHost}`, timeoutMs }), gcpFacts, 'a scheme is fine');
  });

  it('neither probe mistakes the other cloud for its own', async () => {
    assert.equal(await probeAws({ endpoint: `http://${gceHost}`, timeoutMs }), undefined);
    assert.equal(await probeGcp({ host: new URL(imds).host, timeoutMs }), undefined);
  });

  // No injected DMI reader: an explicitly configured endpoint is probed whatever the machine's firmware says,
  // which is what lets these tests (and the CLI's) run on a cloud VM too.
  it('auto detects AWS when IMDS answers and the GCE host refuses', async () => {
    const env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: imds, GCE_METADATA_HOST: closed, AZURE_METADATA_ENDPOINT: `http://${closed}` };
    assert.deepEqual(await detectCloud({ mode: 'auto', env, timeoutMs }), awsFacts);
  });

  it('auto detects GCE when its metadata server answers and IMDS refuses', async () => {
    const env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://${closed}`, GCE_METADATA_HOST: gceHost, AZURE_METADATA_ENDPOINT: `http://${closed}` };
    assert.deepEqual(await detectCloud({ mode: 'auto', env, timeoutMs }), gcpFacts);
  });

  it('auto gives none when both refuse', async () => {
    const env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://${closed}`, GCE_METADATA_HOST: closed, AZURE_METADATA_ENDPOINT: `http://${closed}` };
    assert.deepEqual(await detectCloud({ mode: 'auto', env, timeoutMs }), { cloud: 'none' });
  });

  it('a forced cloud whose metadata does not answer keeps the cloud without instance facts', async () => {
    const env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://${closed}`, GCE_METADATA_HOST: closed, AZURE_METADATA_ENDPOINT: `http://${closed}` };
    assert.deepEqual(await detectCloud({ mode: 'aws', env, timeoutMs }), { cloud: 'aws' });
    assert.deepEqual(await detectCloud({ mode: 'gcp', env, timeoutMs }), { cloud: 'gcp' });
  });

  it('GCE_METADATA_IP is honoured too', async () => {
    const env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://${closed}`, GCE_METADATA_IP: gceHost, AZURE_METADATA_ENDPOINT: `http://${closed}` };
    assert.deepEqual(await detectCloud({ mode: 'auto', env, timeoutMs }), gcpFacts);
  });

  it('a server answering 200 without Metadata-Flavor: Google is not GCE', async () => {
    assert.equal(await probeGcp({ host: impostorHost, timeoutMs }), undefined);
    const env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://${closed}`, GCE_METADATA_HOST: impostorHost, AZURE_METADATA_ENDPOINT: `http://${closed}` };
    assert.deepEqual(await detectCloud({ mode: 'auto', env, timeoutMs }), { cloud: 'none' });
  });
});


describe('Azure instance metadata (a fake of its service, served by this test on loopback)', () => {
  let azure: Server | undefined;
  let endpoint = '';
  let closed = '';
  const azureFacts = {
    cloud: 'azure', instanceId: defaultAzureFacts.vmId, hostname: defaultAzureFacts.computerName,
    region: defaultAzureFacts.location, zone: defaultAzureFacts.zone,
  };
  before(async () => {
    azure = createAzureMetadataServer();
    endpoint = `http://127.0.0.1:${await listen(azure)}`;
    closed = `127.0.0.1:${await closedLoopbackPort()}`;
  });
  after(async () => {
    const server = azure;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('probeAzure reads the instance facts, asking with Metadata: true', async () => {
    assert.deepEqual(await probeAzure({ endpoint, timeoutMs }), azureFacts);
  });

  it('auto detects Azure when its metadata service answers and IMDS and GCE refuse', async () => {
    const env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://${closed}`, GCE_METADATA_HOST: closed, AZURE_METADATA_ENDPOINT: endpoint };
    assert.deepEqual(await detectCloud({ mode: 'auto', env, timeoutMs, readDmi: async () => ({}) }), azureFacts);
    assert.deepEqual(await detectCloud({ mode: 'azure', env, timeoutMs }), azureFacts);
  });

  it('neither the AWS nor the GCE probe takes Azure\'s service for its own, nor Azure\'s the others\'', async () => {
    assert.equal(await probeAws({ endpoint, timeoutMs }), undefined);
    assert.equal(await probeGcp({ host: endpoint, timeoutMs }), undefined);
    assert.equal(await probeAzure({ endpoint: loopbackService('CBR_IMDS_ENDPOINT'), timeoutMs }), undefined);
    const gce = loopbackService('CBR_GCE_METADATA_HOST');
    assert.equal(await probeAzure({ endpoint: `http://${gce}`, timeoutMs }), undefined);
  });

  it('detect on the Azure VM: node id <hostname>-<vmId>, and BUCKET_NAME names the container of AZURE_STORAGE_ACCOUNT', async () => {
    const env = baseEnv({ AZURE_METADATA_ENDPOINT: endpoint, BUCKET_NAME: 'cbr-test', AZURE_STORAGE_ACCOUNT: 'cbrtestaccount' });
    const run = await runCli(['detect', '--json', '--cassandra-yaml', requireEnv('CBR_CASSANDRA_YAML')], env);
    assert.equal(run.exitCode, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { cloud: { cloud: string; instanceId: string }; nodeId: string; destination: string };
    assert.equal(report.cloud.cloud, 'azure');
    assert.equal(report.nodeId, `${hostname().split('.')[0]}-${defaultAzureFacts.vmId}`);
    assert.equal(report.destination, 'az://cbrtestaccount/cbr-test');
    const noAccount = await runCli(['detect', '--json', '--cassandra-yaml', requireEnv('CBR_CASSANDRA_YAML')],
      baseEnv({ AZURE_METADATA_ENDPOINT: endpoint, BUCKET_NAME: 'cbr-test' }));
    assert.match(`${noAccount.stdout}${noAccount.stderr}`, /AZURE_STORAGE_ACCOUNT/);
  });
});
