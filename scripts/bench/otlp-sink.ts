/**
 * The benchmark's trace collector: a bare node `http` server that accepts OTLP/HTTP exports
 * (`POST /v1/traces`, any encoding), counts them, and answers 200 with an empty export response.
 * `GET /` answers the counts as JSON. SINK_PORT. Its own process, so its CPU is not the gateway's.
 */
import http from 'node:http';

let exportsReceived = 0;
let bytes = 0;
const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ exports: exportsReceived, bytes }));
    return;
  }
  req.on('data', (chunk: Buffer) => (bytes += chunk.length));
  req.on('end', () => {
    exportsReceived++;
    const json = String(req.headers['content-type']).includes('json');
    res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
    res.end(json ? '{}' : undefined);
  });
});
server.listen(Number(process.env.SINK_PORT ?? 4318), '127.0.0.1');
