// The one way the test proxies pass a request on to the real server: S3 requests keep the Host header the client
// signed; GCS requests get the server's, and Location headers (resumable sessions) are pointed back at the proxy.
import { request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';

export function forwardUpstream(req: IncomingMessage, res: ServerResponse, upstream: URL, flavour: 's3' | 'gcs', proxyHost: string): ClientRequest {
  const headers = flavour === 's3' ? { ...req.headers } : { ...req.headers, host: upstream.host };
  const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
    const h = { ...up.headers };
    if (typeof h.location === 'string') h.location = h.location.replace(upstream.host, proxyHost);
    res.writeHead(up.statusCode ?? 502, h);
    up.pipe(res);
  });
  out.on('error', () => req.socket.destroy());
  return out;
}
