// The adapter under test for cping-flood.mjs, in its own process so that its RSS is its own:
// `node cping-flood-server.mjs [path to a built index.js]`; prints the port.
import { pathToFileURL } from 'node:url';

const entry = process.argv[2] ?? new URL('../dist/index.js', import.meta.url).href;
const { createAjpServer } = await import(
  entry.startsWith('file:') ? entry : pathToFileURL(entry).href
);
const server = createAjpServer({ secret: 'flood' }, (_req, res) => res.end('ok'));
const { port } = await server.listen();
console.log(port);
