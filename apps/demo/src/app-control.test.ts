import { MemoryBackend } from '@cohort/session-client';
import { afterEach, describe, expect, it } from 'vitest';

import { startControlServer, type ControlServer } from './control-server.js';
import { startDemo, type DemoServer } from './server.js';

const stops: (DemoServer | ControlServer)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s.close();
});

describe('demo app: placement and the kill buttons', () => {
  it('shows the owner and backups, and forwards a button press (with the header only) to the control endpoint with its token', async () => {
    const killed: string[] = [];
    const control = await startControlServer({
      token: 'control-token-0123456789',
      running: () => ['app1', 'sn2'],
      kill: (name) => killed.push(name) > 0,
    });
    stops.push(control);
    const keys: string[] = [];
    const backend = new MemoryBackend();
    const d = await startDemo({
      route: 'app1',
      backend,
      placement: (key) => (keys.push(key), { owner: 'sn2#ab', backups: ['sn1#cd', 'sn3#ef'] }),
      control: { url: control.url, token: 'control-token-0123456789' },
    });
    stops.push(d);

    const r = await fetch(`${d.url}/`);
    const html = await r.text();
    expect(html).toContain('<code id="owner">sn2#ab</code>');
    expect(html).toContain('<code id="backups">sn1#cd, sn3#ef</code>');
    expect(html).toContain('<button data-kill="app1">Kill this instance (app1)</button>');
    expect(html).toContain('<button data-kill="sn2">Kill the owner session node (sn2#ab)</button>');
    const id = /<code id="session">([^<]+)<\/code>/.exec(html)![1]!;
    expect(keys[0]).toBe(id.slice(0, id.lastIndexOf('.')));
    const json = (await (
      await fetch(`${d.url}/api/session`, { headers: { cookie: `JSESSIONID=${id}` } })
    ).json()) as Record<string, unknown>;
    expect(json['owner']).toBe('sn2#ab');
    expect(json['backups']).toEqual(['sn1#cd', 'sn3#ef']);

    const press = (name: string, header: boolean): Promise<Response> =>
      fetch(`${d.url}/api/control/kill/${name}`, {
        method: 'POST',
        headers: header ? { 'x-cohort-demo': 'control' } : {},
      });
    const refused = await press('sn2', false);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toBe('FORBIDDEN');
    expect(await (await press('sn2', true)).json()).toEqual({ killed: 'sn2' });
    expect((await press('sn9', true)).status).toBe(404);
    for (let i = 0; i < 50 && killed.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(killed).toEqual(['sn2']);

    await control.close();
    stops.splice(stops.indexOf(control), 1);
    const down = await press('app1', true);
    expect(down.status).toBe(502);
    expect(((await down.json()) as { error: string }).error).toBe('CONTROL_UNAVAILABLE');
  });

  it('without placement or control the page has neither (the in-memory demo)', async () => {
    const d = await startDemo({ route: 'app2' });
    stops.push(d);
    const html = await (await fetch(`${d.url}/`)).text();
    expect(html).not.toContain('id="owner"');
    expect(html).not.toContain('data-kill');
    expect((await fetch(`${d.url}/api/control/kill/app2`, { method: 'POST' })).status).toBe(404);
  });
});
