// Tiny loopback servers for failure cases the real ones cannot produce on demand: a metadata service that
// accepts connections and never answers, and an S3 endpoint that rejects every request as S3 does for an
// expired session token. The real client talks to them over HTTP like to any server.
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Running {
  readonly host: string;
  close(): Promise<void>;
}

function listening(server: Server | TcpServer, onClose: () => void = () => {}): Promise<Running> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ host: `127.0.0.1:${port}`, close: () => new Promise((r) => { onClose(); server.close(() => r()); }) });
    });
  });
}

/** Accepts TCP connections and never sends a byte. */
export function hangingServer(): Promise<Running> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  return listening(server, () => { for (const s of sockets) s.destroy(); });
}

/** Answers every request with S3's 400 ExpiredToken error. */
export function expiredTokenS3(): Promise<Running> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(400, { 'Content-Type': 'application/xml', 'x-amz-request-id': 'FAKE' });
      res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message><RequestId>FAKE</RequestId></Error>');
    });
  });
  return listening(server);
}
