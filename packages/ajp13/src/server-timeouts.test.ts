import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CPING_PACKET,
  ResponseDecoder,
  createAjpServer,
  encodeForwardRequest,
  encodeRequestBody,
  type AjpServer,
  type AjpServerOptions,
  type ForwardRequest,
  type ResponseEvent,
} from './index.js';

// The server adapter's timeouts and connection handling, driven by a raw AJP web-server side.

const SECRET = 'k';
const servers: AjpServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(
  opts: Partial<AjpServerOptions>,
  listener: Parameters<typeof createAjpServer>[1],
) {
  const s = createAjpServer({ secret: SECRET, ...opts }, listener);
  servers.push(s);
  return (await s.listen()).port;
}

/** A raw connection collecting decoded replies. */
async function rawConn(port: number) {
  const sock: Socket = connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const d = new ResponseDecoder();
  const events: ResponseEvent[] = [];
  sock.on('data', (c: Buffer) => events.push(...d.push(c)));
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  return { sock, events, closed };
}

const fr = (o: Partial<ForwardRequest> = {}): Buffer =>
  encodeForwardRequest({
    method: 'GET',
    protocol: 'HTTP/1.1',
    uri: '/',
    remoteAddr: '127.0.0.1',
    remoteHost: null,
    serverName: 'h',
    serverPort: 80,
    isSsl: false,
    headers: [['content-length', '0']],
    attributes: { secret: SECRET },
    ...o,
  });

describe('createAjpServer timeouts and connection handling', () => {
  it('idleTimeout closes a connection idle between requests; CPING keeps answering before that', async () => {
    const port = await start({ idleTimeout: 150 }, (_q, r) => r.end('x'));
    const c = await rawConn(port);
    c.sock.write(CPING_PACKET);
    await new Promise((r) => setTimeout(r, 50));
    expect(c.events).toEqual([{ type: 'cpong' }]);
    const t0 = Date.now();
    await c.closed;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(80);
  });

  it('requestTimeout answers 503 with reuse=0 when the listener never responds', async () => {
    const port = await start({ requestTimeout: 100 }, () => undefined);
    const c = await rawConn(port);
    c.sock.write(fr());
    await c.closed;
    expect(c.events.map((e) => e.type)).toEqual(['send-headers', 'end-response']);
    expect(c.events[0]).toMatchObject({ response: { status: 503 } });
    expect(c.events[1]).toEqual({ type: 'end-response', reuse: false });
  });

  it('bodyTimeout answers 408 when the web server does not send the body it owes', async () => {
    const port = await start({ bodyTimeout: 100 }, (q, r) => {
      q.resume();
      q.on('end', () => r.end('never'));
    });
    const c = await rawConn(port);
    c.sock.write(fr({ method: 'POST', headers: [['content-length', '10']] })); // no body packet follows
    await c.closed;
    expect(c.events[0]).toMatchObject({ type: 'send-headers', response: { status: 408 } });
  });

  it('a body longer than its Content-Length is a protocol error: 400 and close', async () => {
    const port = await start({}, (q, r) => {
      q.resume();
      q.on('end', () => r.end('ok'));
      q.on('error', () => undefined);
    });
    const c = await rawConn(port);
    c.sock.write(
      Buffer.concat([
        fr({ method: 'POST', headers: [['content-length', '2']] }),
        encodeRequestBody(Buffer.from('abcd')),
      ]),
    );
    await c.closed;
    expect(c.events[0]).toMatchObject({ type: 'send-headers', response: { status: 400 } });
  });

  it('the app never reading a declared body still leaves the connection in sync for the next request', async () => {
    let n = 0;
    const port = await start({}, (_q, r) => r.end(String(++n)));
    const c = await rawConn(port);
    c.sock.write(
      Buffer.concat([
        fr({ method: 'POST', headers: [['content-length', '20000']] }),
        encodeRequestBody(Buffer.alloc(8186)),
      ]),
    );
    await new Promise((r) => setTimeout(r, 50));
    c.sock.write(fr());
    await new Promise((r) => setTimeout(r, 50));
    const bodies = c.events
      .filter((e) => e.type === 'body-chunk')
      .map((e) => (e.type === 'body-chunk' ? e.data.toString() : ''));
    expect(bodies).toEqual(['1', '2']);
    expect(c.events.filter((e) => e.type === 'end-response')).toEqual([
      { type: 'end-response', reuse: true },
      { type: 'end-response', reuse: true },
    ]);
    c.sock.destroy();
  });

  it('a Forward Request while a response is in progress (pipelining) closes the connection', async () => {
    const port = await start({}, (_q, r) => setTimeout(() => r.end('late'), 200));
    const c = await rawConn(port);
    c.sock.write(Buffer.concat([fr(), fr()]));
    await c.closed;
    expect(c.events.some((e) => e.type === 'end-response' && e.reuse)).toBe(false);
  });
});
