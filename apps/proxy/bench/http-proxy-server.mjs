// The http-proxy peer of the benchmark: http-proxy 1.18.1 with a keep-alive agent (its default,
// agent:false, opens a connection per request and is twice as slow again; reference §3.2).
// Usage: node http-proxy-server.mjs <listenPort> <targetUrl> <moduleDir>
import http from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [port, target, moduleDir] = process.argv.slice(2);
const require = createRequire(join(moduleDir, 'package.json'));
const httpProxy = require('http-proxy');
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
const proxy = httpProxy.createProxyServer({ target, agent, xfwd: true });
proxy.on('error', (_err, _req, res) => {
  if (!res.headersSent) res.writeHead(502);
  res.end();
});
http
  .createServer((req, res) => proxy.web(req, res))
  .listen(Number(port), '127.0.0.1', () => {
    process.stdout.write('ready\n');
  });
