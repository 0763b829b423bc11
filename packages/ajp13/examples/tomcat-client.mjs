// Runnable example, proxy side: starts a private Tomcat 10 (from @cohort/peers) and talks to its
// AJP connector with AjpClient. Build first: npx tsc -b packages/ajp13 tools/peers
//   node packages/ajp13/examples/tomcat-client.mjs
import { Buffer } from 'node:buffer';
import { startTomcat } from '@cohort/peers';
import { AjpClient } from '../dist/index.js';

const tomcat = await startTomcat({ route: 'node1' });
const client = new AjpClient({ port: tomcat.ajpPort, secret: tomcat.ajpSecret });
try {
  const res = await client.request({
    method: 'GET',
    url: '/index.jsp',
    headers: { host: 'shop.example' },
    remoteAddress: '203.0.113.9',
  });
  console.log(res.status, res.statusMessage, res.headers['set-cookie']);
  for await (const chunk of res.body) process.stdout.write(chunk);

  const upload = await client.request({
    method: 'POST',
    url: '/bodysize.jsp',
    headers: { host: 'shop.example', 'content-type': 'application/octet-stream' },
    remoteAddress: '203.0.113.9',
    body: Buffer.alloc(100_000, 1),
  });
  for await (const chunk of upload.body) process.stdout.write(chunk);
} finally {
  await client.close();
  await tomcat.stop();
}
