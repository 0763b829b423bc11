import { createAjpServer } from '@cohort/ajp13';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startProxy } from './test/harness.js';

// A wrong or missing AJP secret (#11 item 7): the client gets the container's 403 (as from
// httpd), and the operator is told — a warning naming the member the first time, then at most
// once a minute — and the member's state says so until a good answer clears it.

const ajp = createAjpServer({ secret: 'right' }, (req, res) => {
  req.resume();
  if (req.url === '/app-403') {
    res.statusCode = 403;
    res.end('the application says no');
    return;
  }
  res.end('ok');
});
let p: Awaited<ReturnType<typeof startProxy>>;

beforeAll(async () => {
  await ajp.listen(0, '127.0.0.1');
  const url = `ajp://127.0.0.1:${ajp.address().port}`;
  p = await startProxy({
    balancers: [
      { name: 'wrong', path: '/wrong', members: [{ url, route: 'w1', secret: 'nope' }] },
      { name: 'none', path: '/none', members: [{ url, route: 'n1' }] },
      { name: 'good', path: '/', members: [{ url, route: 'g1', secret: 'right' }] },
    ],
  });
});
afterAll(async () => {
  await p.stop();
  await ajp.close();
});

const warnings = (member: string) =>
  p.log.lines.filter((l) => l.code === 'AJP_SECRET_REFUSED' && l.member === member);
const stateOf = (route: string) =>
  p.proxy['runtime'].balancers.flatMap((b) => b.members).find((m) => m.config.route === route)!
    .state;

describe('AJP secret refused by the member', () => {
  it('a wrong secret: 403 to the client, one warning naming the member, the state says it', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${p.url}/wrong/x`);
      expect(r.status).toBe(403);
      await r.arrayBuffer();
    }
    expect(warnings('w1')).toHaveLength(1);
    expect(warnings('w1')[0]!.msg).toMatch(/refused the AJP secret/);
    expect(warnings('w1')[0]!.balancer).toBe('wrong');
    expect(stateOf('w1').warning).toMatch(/refused the AJP secret/);
    expect(p.log.text()).not.toContain('nope');
  });

  it('a missing secret says none is configured', async () => {
    const r = await fetch(`${p.url}/none/x`);
    expect(r.status).toBe(403);
    await r.arrayBuffer();
    expect(warnings('n1')).toHaveLength(1);
    expect(stateOf('n1').warning).toMatch(/none is configured/);
  });

  it("an application's own 403 is not taken for a refused secret", async () => {
    const r = await fetch(`${p.url}/app-403`);
    expect(r.status).toBe(403);
    expect(await r.text()).toBe('the application says no');
    expect(warnings('g1')).toHaveLength(0);
    expect(stateOf('g1').warning).toBeUndefined();
  });
});
