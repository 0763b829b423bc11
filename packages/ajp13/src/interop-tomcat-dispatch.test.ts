import { BIG_ALPHABET, startTomcat, type TomcatHandle } from '@cohort/peers';
import { requirePeers, usePeers } from '@cohort/peers/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { collector } from '../test/collect.js';
import { AjpClient, type AjpDispatchOptions } from './index.js';

// AjpClient.dispatch() against the real Tomcat 10 AJP connector (secret required), from
// @cohort/peers. Under CI=true a missing Tomcat fails this file; elsewhere it is skipped.

const peers = requirePeers(['tomcat10'], 'ajp13 dispatch ↔ Tomcat interop');

const base = (o: Partial<AjpDispatchOptions>): AjpDispatchOptions => ({
  method: 'GET',
  url: '/echo.jsp',
  remoteAddress: '203.0.113.9',
  remotePort: 40123,
  headers: ['Host', 'shop.example:8080', 'User-Agent', 'cohort-test', 'X-Dup', 'a', 'X-Dup', 'b'],
  ...o,
});

describe.skipIf(peers.skip)('AjpClient.dispatch ↔ Tomcat 10', () => {
  const scope = usePeers();
  let tc: TomcatHandle;
  let client: AjpClient;

  beforeAll(async () => {
    tc = await scope.track(startTomcat({ route: 'node1' }));
    client = new AjpClient({ port: tc.ajpPort, secret: tc.ajpSecret });
    scope.track({ stop: () => client.close() });
  }, 90_000);

  it('GET: the servlet sees the request; flat response headers; the connection is reused', async () => {
    const { c, handler } = collector();
    client.dispatch(base({ url: '/echo.jsp?a=1' }), handler);
    expect(await c.done).toBe(true);
    expect([c.status, c.statusMessage]).toEqual([200, 'OK']);
    expect(c.headers!.some((v, i) => i % 2 === 0 && v === 'Content-Type')).toBe(true);
    const j = JSON.parse(c.text()) as Record<string, unknown> & { headers: string[][] };
    expect(j).toMatchObject({
      method: 'GET',
      requestURI: '/echo.jsp',
      queryString: 'a=1',
      remoteAddr: '203.0.113.9',
      remotePort: 40123,
      serverName: 'shop.example',
      serverPort: 8080,
    });
    expect(j.headers).toContainEqual(['user-agent', 'cohort-test']);
    const opened = client.stats.connectionsOpened;
    const again = collector();
    client.dispatch(base({}), again.handler);
    expect(await again.c.done).toBe(true);
    expect(client.stats.connectionsOpened).toBe(opened);
  });

  it('a 1 MB POST arrives intact; HEAD has no body', async () => {
    const body = Buffer.alloc(1024 * 1024, 0x61);
    const post = collector();
    client.dispatch(base({ method: 'POST', url: '/echo.jsp', body }), post.handler);
    expect(await post.c.done).toBe(true);
    expect(JSON.parse(post.c.text())).toMatchObject({ contentLength: body.length });
    const head = collector();
    client.dispatch(base({ method: 'HEAD', url: '/big.jsp?bytes=100&length=1' }), head.handler);
    expect(await head.c.done).toBe(true);
    expect(head.c.calls).toEqual(['headers', 'end']);
  });

  it('a 5 MB response with pauses at every chunk, resumed later', async () => {
    const n = 5 * 1024 * 1024;
    let got = 0;
    let bad = -1;
    const { c, handler } = collector({
      onData: (k) => {
        const b = k.chunks.pop()!;
        for (let i = 0; i < b.length && bad < 0; i += 997)
          if (b[i] !== BIG_ALPHABET.charCodeAt((got + i) % 64)) bad = got + i;
        got += b.length;
        setTimeout(() => k.resume!(), 1);
      },
    });
    // every onData returns false; the hook above resumes a millisecond later
    const h = { ...handler, onData: (b: Buffer) => (handler.onData(b), false) };
    client.dispatch(base({ url: `/big.jsp?bytes=${n}&chunk=65536` }), h);
    expect(await c.done).toBe(true);
    expect(got).toBe(n);
    expect(bad).toBe(-1);
  }, 60_000);

  it('an abort mid-body closes the backend connection; the pool carries on', async () => {
    const { c, handler } = collector();
    const abort = client.dispatch(base({ url: '/big.jsp?bytes=5000000' }), handler);
    while (c.chunks.length === 0 && c.error === undefined)
      await new Promise((r) => setTimeout(r, 5));
    const open = client.stats.open;
    abort();
    expect(c.error).toMatchObject({ code: 'ABORTED', responseStarted: true });
    expect(client.stats.open).toBe(open - 1);
    const again = collector();
    client.dispatch(base({}), again.handler);
    expect(await again.c.done).toBe(true);
  });

  it('request headers that do not fit are refused before sending', async () => {
    const { c, handler } = collector();
    client.dispatch(base({ headers: ['Host', 'h', 'X-Big', 'b'.repeat(9000)] }), handler);
    expect(await c.done).toBe(false);
    expect(c.error).toMatchObject({ code: 'REQUEST_TOO_LARGE', requestSent: false, status: 413 });
  });
});
