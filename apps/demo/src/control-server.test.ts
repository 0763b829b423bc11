import { describe, expect, it } from 'vitest';

import { startControlServer } from './control-server.js';

describe('startControlServer', () => {
  it('needs the token, lists the running processes, kills one by name after answering, 404 for others', async () => {
    const running = new Set(['app1', 'sn1']);
    const killed: string[] = [];
    const c = await startControlServer({
      token: 'a-token-of-24-characters',
      running: () => [...running],
      kill: (name) => {
        killed.push(name);
        return running.delete(name);
      },
    });
    try {
      expect(c.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const auth = { authorization: 'Bearer a-token-of-24-characters' };
      expect((await fetch(`${c.url}/processes`)).status).toBe(401);
      const wrong = await fetch(`${c.url}/kill/app1`, {
        method: 'POST',
        headers: { authorization: 'Bearer a-token-of-24-characterX' },
      });
      expect(wrong.status).toBe(401);
      expect(await (await fetch(`${c.url}/processes`, { headers: auth })).json()).toEqual({
        running: ['app1', 'sn1'],
      });
      const ok = await fetch(`${c.url}/kill/app1`, { method: 'POST', headers: auth });
      expect(await ok.json()).toEqual({ killed: 'app1' });
      for (let i = 0; i < 50 && killed.length === 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(killed).toEqual(['app1']);
      const gone = await fetch(`${c.url}/kill/app1`, { method: 'POST', headers: auth });
      expect(gone.status).toBe(404);
      expect(((await gone.json()) as { error: string }).error).toBe('NO_SUCH_PROCESS');
      expect((await fetch(`${c.url}/kill/app1`, { headers: auth })).status).toBe(404); // GET
      expect((await fetch(`${c.url}/kill/..%2Fx`, { method: 'POST', headers: auth })).status).toBe(
        404,
      );
      expect(killed).toEqual(['app1']);
    } finally {
      await c.close();
    }
  });
});
