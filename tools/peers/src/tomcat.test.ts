import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PeerError } from './errors.js';
import { httpGet, httpRequest } from './http.js';
import { isRunning } from './pids.js';
import { freePort, isPortOpen } from './ports.js';
import { requirePeers } from './require.js';
import { BIG_ALPHABET, startTomcat, type TomcatHandle } from './tomcat.js';

describe.skipIf(requirePeers(['tomcat10'], 'tomcat.test').skip)('startTomcat', () => {
  let tc: TomcatHandle;
  beforeAll(async () => {
    tc = await startTomcat({
      route: 'solo',
      webapp: { 'extra/hello.jsp': '<%= "hello from " + System.getProperty("cohort.node") %>' },
    });
  });
  afterAll(() => tc?.stop());

  it('serves the static ping file on 127.0.0.1 and listens for AJP', async () => {
    const r = await httpGet(`${tc.url}/ping.txt`);
    expect(r.status).toBe(200);
    expect(r.body).toBe('pong\n');
    expect(r.headers['set-cookie']).toBeUndefined();
    expect(await isPortOpen(tc.ajpPort)).toBe(true);
    expect(tc.ajpSecret).toMatch(/^[0-9a-f]{32}$/);
  });

  it('counts requests in the session and ends the id with the route', async () => {
    const first = await httpGet(`${tc.url}/`);
    const cookie = String(first.headers['set-cookie']?.[0]).split(';')[0]!;
    expect(cookie).toMatch(/^JSESSIONID=[0-9A-F]+\.solo$/);
    const id = cookie.slice('JSESSIONID='.length);
    expect(first.body).toBe(`session=${id} n=1 node=solo\n`);
    expect((await httpGet(`${tc.url}/`, { cookie })).body).toBe(`session=${id} n=2 node=solo\n`);
    expect((await httpGet(`${tc.url}/read.jsp`, { cookie })).body).toBe(
      `session=${id} n=2 node=solo\n`,
    );
    expect((await httpGet(`${tc.url}/invalidate.jsp`, { cookie })).body).toContain(
      'invalidated=true',
    );
    expect((await httpGet(`${tc.url}/read.jsp`, { cookie })).body).toBe(
      'session=none n=null node=solo\n',
    );
  });

  it('echo.jsp describes the request as JSON, headers in order', async () => {
    const r = await httpGet(`${tc.url}/echo.jsp?a=1&b=%20x`, {
      'x-one': '1',
      'x-two': 'two "quoted"',
    });
    expect(r.status).toBe(200);
    const j = JSON.parse(r.body) as Record<string, unknown>;
    expect(j).toMatchObject({
      node: 'solo',
      method: 'GET',
      requestURI: '/echo.jsp',
      queryString: 'a=1&b=%20x',
    });
    const headers = j['headers'] as [string, string][];
    expect(headers).toContainEqual(['x-one', '1']);
    expect(headers).toContainEqual(['x-two', 'two "quoted"']);
  });

  it('body.jsp echoes bytes, bodysize.jsp hashes them', async () => {
    const body = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff));
    const echo = await httpRequest(`${tc.url}/body.jsp`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-test' },
      body,
    });
    expect(echo.status).toBe(200);
    expect(echo.headers['content-type']).toContain('application/x-test');
    expect(echo.raw.equals(body)).toBe(true);
    const size = await httpRequest(`${tc.url}/bodysize.jsp`, { method: 'POST', body });
    expect(JSON.parse(size.body)).toMatchObject({
      bytes: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      contentLength: body.length,
    });
  });

  it('status.jsp answers any status, with headers, and no body for 204/304', async () => {
    const r204 = await httpGet(`${tc.url}/status.jsp?code=204&body=x`);
    expect([r204.status, r204.body]).toEqual([204, '']);
    const r304 = await httpGet(`${tc.url}/status.jsp?code=304`);
    expect(r304.status).toBe(304);
    const r418 = await httpGet(`${tc.url}/status.jsp?code=418&header=X-A:%201&body=teapot`);
    expect([r418.status, r418.headers['x-a'], r418.body]).toEqual([418, '1', 'teapot']);
  });

  it('big.jsp streams N bytes of the alphabet pattern, chunked or with a length', async () => {
    for (const length of ['', '&length=1']) {
      const r = await httpGet(`${tc.url}/big.jsp?bytes=300001&chunk=1000${length}`);
      expect(r.status).toBe(200);
      expect(r.raw.length).toBe(300_001);
      expect(r.headers['transfer-encoding']).toBe(length ? undefined : 'chunked');
      const expected = Buffer.from(
        Array.from({ length: 300_001 }, (_, i) => BIG_ALPHABET.charCodeAt(i % 64)),
      );
      expect(r.raw.equals(expected)).toBe(true);
    }
  });

  it('serves extra webapp files given by the caller', async () => {
    expect((await httpGet(`${tc.url}/extra/hello.jsp`)).body).toBe('hello from solo');
  });

  it('/any/ takes every method and reports method, body size and hash', async () => {
    const body = Buffer.from('x'.repeat(1000));
    for (const method of ['PUT', 'DELETE', 'PATCH', 'PROPFIND', 'MKCOL', 'OPTIONS']) {
      const r = await httpRequest(`${tc.url}/any/a/b?c=d`, { method, body });
      expect(r.status, method).toBe(200);
      expect(JSON.parse(r.body)).toMatchObject({
        method,
        requestURI: '/any/a/b',
        pathInfo: '/a/b',
        queryString: 'c=d',
        bodyBytes: 1000,
        bodySha256: createHash('sha256').update(body).digest('hex'),
      });
    }
    const head = await httpRequest(`${tc.url}/any/h`, { method: 'HEAD' });
    expect([head.status, head.raw.length]).toEqual([200, 0]);
    const r204 = await httpRequest(`${tc.url}/any/x?status=204`, { method: 'DELETE' });
    expect([r204.status, r204.body]).toEqual([204, '']);
  });

  it('stops by PID: the process is gone, the ports are closed, the run directory removed', async () => {
    expect(isRunning(tc.pid)).toBe(true);
    await tc.stop();
    expect(isRunning(tc.pid)).toBe(false);
    expect(await isPortOpen(tc.httpPort)).toBe(false);
    expect(await isPortOpen(tc.ajpPort)).toBe(false);
    expect(existsSync(tc.dir)).toBe(false);
    await tc.stop(); // idempotent
  });
});

describe('startTomcat option errors', () => {
  it('rejects a route that cannot be a jvmRoute', async () => {
    await expect(startTomcat({ route: 'a b' })).rejects.toMatchObject({ code: 'BAD_OPTION' });
    await expect(startTomcat({ route: '' })).rejects.toBeInstanceOf(PeerError);
    await expect(startTomcat({ route: 'a', ajpSecret: 'two words' })).rejects.toThrow(/ajpSecret/);
    await expect(startTomcat({ route: 'a', ajpSecret: 'x\u0000' })).rejects.toMatchObject({
      code: 'BAD_OPTION',
    });
  });

  it.skipIf(requirePeers(['tomcat10']).skip)(
    'fails fast with PORT_IN_USE when Tomcat cannot bind a connector',
    async () => {
      const port = await freePort();
      // Free when checked, but the AJP connector cannot bind what the HTTP connector just took.
      const t0 = Date.now();
      await expect(
        startTomcat({ route: 'clash', httpPort: port, ajpPort: port }),
      ).rejects.toMatchObject({
        code: 'PORT_IN_USE',
      });
      expect(Date.now() - t0).toBeLessThan(30_000);
      expect(await isPortOpen(port)).toBe(false);
    },
  );

  it.skipIf(requirePeers(['tomcat10']).skip)('rejects webapp paths that leave ROOT', async () => {
    await expect(startTomcat({ route: 'x', webapp: { '../evil.jsp': '' } })).rejects.toMatchObject({
      code: 'BAD_OPTION',
    });
  });
});
