import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Member } from './member.js';
import { createMember } from './member.js';

const running: Member[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((m) => m.close()));
});

async function start(
  name: string,
  extra: Partial<Parameters<typeof createMember>[0]> = {},
): Promise<Member> {
  const m = await createMember({ name, preset: 'local', monitorEventLoop: false, ...extra });
  running.push(m);
  return m;
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const aliveCount = (m: Member): number => m.members().filter((x) => x.status === 'alive').length;

describe('createMember on 127.0.0.1 (UDP + TCP)', () => {
  it('joins, shares metadata, gossips messages, and sees a graceful leave', async () => {
    const a = await start('a', { metadata: { role: 'session-node', route: 'r1' } });
    const b = await start('b', { seeds: [a.address] });
    const c = await start('c', { seeds: [a.address], metadata: { role: 'proxy' } });
    await until(() => [a, b, c].every((m) => aliveCount(m) === 3));
    expect(c.members().find((m) => m.name === 'a')?.metadata).toEqual({
      role: 'session-node',
      route: 'r1',
    });
    await until(() => [a, b, c].every((m) => m.routable().length === 3));

    const got: string[] = [];
    c.on('message', (p, origin) => got.push(`${origin}:${Buffer.from(p).toString()}`));
    b.broadcast('hello');
    await until(() => got.length === 1);
    expect(got).toEqual(['b:hello']);

    a.updateMetadata({ role: 'session-node', route: 'r2' });
    await until(() => c.members().find((m) => m.name === 'a')?.metadata?.route === 'r2');

    const big = randomBytes(4000); // larger than the inline limit: fetched by digest over TCP
    b.updateMetadata(big);
    await until(() => Buffer.from(a.members().find((m) => m.name === 'b')?.meta ?? []).equals(big));

    const left: string[] = [];
    a.on('leave', (m) => left.push(m.name));
    await c.leave(1000);
    await until(() => left.includes('c'));
    expect(b.members().find((m) => m.name === 'c')?.status).toBe('left');
  });

  it('detects a member that stops without leaving', async () => {
    const a = await start('a');
    const b = await start('b', { seeds: [a.address] });
    const c = await start('c', { seeds: [a.address] });
    await until(() => [a, b, c].every((m) => aliveCount(m) === 3));
    const dead: string[] = [];
    a.on('dead', (m) => dead.push(m.name));
    await c.close();
    await until(() => dead.includes('c'), 15_000);
    await until(() => !a.routable().some((m) => m.name === 'c'));
  });

  it('with encryption, refuses a member holding the wrong key and keeps working', async () => {
    const key = randomBytes(32);
    const a = await start('a', { keys: [key], cluster: 'prod' });
    const b = await start('b', {
      keys: [key.toString('base64')],
      cluster: 'prod',
      seeds: [a.address],
    });
    await until(() => aliveCount(a) === 2 && aliveCount(b) === 2);
    const x = await start('x', { keys: [randomBytes(32)], cluster: 'prod', seeds: [a.address] });
    await new Promise((r) => setTimeout(r, 1500));
    expect(a.members().some((m) => m.name === 'x')).toBe(false);
    expect(aliveCount(x)).toBe(1);
    expect(a.stats().transport.decryptErrors).toBeGreaterThan(0);
    expect(aliveCount(a)).toBe(2);
  });

  it('names the bad option in config errors', async () => {
    await expect(createMember({ name: '' })).rejects.toMatchObject({
      code: 'ERR_CONFIG',
      field: 'name',
    });
    await expect(createMember({ name: 'a', seeds: ['nope'] })).rejects.toMatchObject({
      field: 'seeds[0]',
    });
    await expect(
      createMember({ name: 'a', config: { probeIntervalMs: -1 } }),
    ).rejects.toMatchObject({
      field: 'config.probeIntervalMs',
    });
    await expect(createMember({ name: 'a', preset: 'fast' as never })).rejects.toMatchObject({
      field: 'preset',
    });
    await expect(createMember({ name: 'a', bind: { host: '0.0.0.0' } })).rejects.toMatchObject({
      field: 'advertise',
    });
    await expect(createMember({ name: 'a', keys: [randomBytes(8)] })).rejects.toMatchObject({
      code: 'ERR_KEY',
      field: 'keys[0]',
    });
  });
});
