// Loopback ports for tests: a server's port, and a port known to refuse connections.
import { createServer } from 'node:http';
import { connect, type AddressInfo, type Server as NetServer } from 'node:net';

export function listen(server: NetServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/**
 * A loopback port nothing listens on (bound, then released), checked to refuse connections. Take it after the
 * test's own servers are listening: a port released first could be handed straight back to one of them.
 */
export async function closedLoopbackPort(): Promise<number> {
  const probe = createServer();
  const port = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
  await new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); reject(new Error(`127.0.0.1:${port} unexpectedly accepts`)); });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNREFUSED' ? resolve() : reject(error));
  });
  return port;
}
