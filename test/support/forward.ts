// The one way the test proxies pass a request on to the real server: S3 requests keep the Host header the client
// signed; GCS requests get the server's, and Location headers (resumable sessions) are pointed back at the proxy.
import { request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Transform } from 'node:stream';

/** `through`, when given, is put between the server's answer body and the client (e.g. to slow it down). */
export function forwardUpstream(req: IncomingMessage, res: ServerResponse, upstream: URL, flavour: 's3' | 'gcs', proxyHost: string,
  through?: () => Transform): ClientRequest {
  const headers = flavour === 's3' ? { ...req.headers } : { ...req.headers, host: upstream.host };
  const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
    const h = { ...up.headers };
    if (typeof h.location === 'string') h.location = h.location.replace(upstream.host, proxyHost);
    res.writeHead(up.statusCode ?? 502, h);
    if (through === undefined) up.pipe(res);
    else up.pipe(through()).pipe(res);
  });
  out.on('error', () => req.socket.destroy());
  return out;
}
