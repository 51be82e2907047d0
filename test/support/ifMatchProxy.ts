/**
 * A pass-through HTTP proxy in front of s3rver that adds the one S3 behaviour the s3 function
 * relies on and s3rver 3.7 lacks: GetObject with `If-Match` answers 412 PreconditionFailed when
 * the object's ETag differs (s3rver ignores the header and returns the object). Without it no
 * local test can show that an event for a replaced object is skipped.
 *
 * Requests go to s3rver unchanged (so their SigV4 signatures stay valid); only the answer to a
 * GET whose If-Match does not match the returned ETag is replaced, by S3's documented error.
 */
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import { freePort } from './freePort.js';

const PRECONDITION_FAILED = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>'
  + '<Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-Match</Condition></Error>';

const bare = (eTag: string) => eTag.trim().replace(/^"|"$/g, '');

/** Starts the proxy for `target` (e.g. http://localhost:41235); `close` stops it. */
async function startIfMatchProxy(target: string): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      const ifMatch = req.headers['if-match'];
      const eTag = answer.headers.etag;
      if (req.method === 'GET' && ifMatch && ifMatch !== '*' && answer.statusCode === 200 && eTag && bare(ifMatch) !== bare(eTag)) {
        answer.resume();
        res.writeHead(412, { 'content-type': 'application/xml' }).end(PRECONDITION_FAILED);
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', (error) => res.destroy(error));
    req.pipe(forward);
  });
  const port = await freePort();
  await new Promise<void>((resolveListen) => server.listen(port, '127.0.0.1', resolveListen));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolveClose) => { server.closeAllConnections(); server.close(() => resolveClose()); }),
  };
}

export { startIfMatchProxy };
