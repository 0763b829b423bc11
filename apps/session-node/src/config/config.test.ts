import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { loadNodeConfig, resolveNodeConfig } from './load.js';

function keyOf(input: unknown): string {
  try {
    resolveNodeConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).key;
  }
  return '(valid)';
}

describe('configuration', () => {
  it('applies defaults', () => {
    const c = resolveNodeConfig({ name: 'a' });
    expect(c).toMatchObject({
      listen: '127.0.0.1:8700',
      replicas: 3,
      ack: 'quorum',
      maxInactive: 1800,
      seeds: [],
      gossip: { listen: '127.0.0.1:7946', preset: 'lan', cluster: 'cohort' },
      limits: { maxFrameBytes: 4 * 1024 * 1024, maxAttributeBytes: 1024 * 1024 },
    });
  });

  it('names the bad key', () => {
    expect(keyOf({ listen: 'nowhere' })).toBe('listen');
    expect(keyOf({ seeds: ['a:1', 'b'] })).toBe('seeds.1');
    expect(keyOf({ replicas: 0 })).toBe('replicas');
    expect(keyOf({ ack: 'some' })).toBe('ack');
    expect(keyOf({ limits: { maxAttributeBytes: -1 } })).toBe('limits.maxAttributeBytes');
    expect(keyOf({ limits: { maxSessionByte: 1 } })).toBe('limits.maxSessionByte');
    expect(keyOf({ auth: { token: 'short' } })).toBe('auth.token');
    expect(keyOf({ tls: { cert: 'c.pem' } })).toBe('tls.key');
    expect(keyOf({ gossip: { preset: 'fast' } })).toBe('gossip.preset');
    expect(keyOf({ advertise: 'http://x:1' })).toBe('advertise');
    expect(keyOf({ colour: 'blue' })).toBe('colour');
  });

  it('reads YAML and refuses unreadable or invalid files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sn-config-'));
    const file = join(dir, 'node.yaml');
    writeFileSync(
      file,
      'name: n1\nreplicas: 3\nseeds: ["10.0.0.2:7946"]\nlimits:\n  maxAttributeBytes: 65536\n',
    );
    expect(loadNodeConfig(file)).toMatchObject({
      name: 'n1',
      limits: { maxAttributeBytes: 65536 },
    });
    writeFileSync(file, 'name: [unclosed');
    expect(() => loadNodeConfig(file)).toThrow(/not valid YAML/);
    expect(() => loadNodeConfig(join(dir, 'missing.yaml'))).toThrow(/cannot read/);
  });
});
