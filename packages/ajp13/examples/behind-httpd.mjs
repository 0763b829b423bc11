// Runnable example, container side: a Node listener served over AJP by createAjpServer, with a
// private Apache httpd (mod_jk, from @cohort/peers) in front. Build first:
//   npx tsc -b packages/ajp13 tools/peers && node packages/ajp13/examples/behind-httpd.mjs
/* global fetch */
import { startHttpd } from '@cohort/peers';
import { createAjpServer } from '../dist/index.js';

const secret = 'example-secret';
const server = createAjpServer({ secret }, (req, res) => {
  let bytes = 0;
  req.on('data', (c) => (bytes += c.length));
  req.on('end', () => {
    res.setHeader('Content-Type', 'text/plain');
    res.end(`${req.method} ${req.url} from ${req.socket.remoteAddress}, ${bytes} body bytes\n`);
  });
});
const { port } = await server.listen();
const httpd = await startHttpd({ mode: 'jk', backends: [{ port, route: 'node1', secret }] });
try {
  const get = await fetch(`${httpd.url}/hello?x=1`);
  console.log(get.status, get.statusText, await get.text());
  const post = await fetch(`${httpd.url}/upload`, { method: 'POST', body: 'x'.repeat(50_000) });
  console.log(post.status, await post.text());
} finally {
  await httpd.stop();
  await server.close();
}
