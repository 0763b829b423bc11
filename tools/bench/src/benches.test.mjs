import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { BENCHES, objectsTable } from './benches.mjs';

const root = join(import.meta.dirname, '..', '..', '..');

describe('the bench registry', () => {
  it('names each bench once', () => {
    expect(new Set(BENCHES.map((b) => b.name)).size).toBe(BENCHES.length);
  });

  it.each(BENCHES.map((b) => [b.name, b]))(
    '%s: its script exists and its project is its package',
    (_n, b) => {
      expect(existsSync(join(root, b.dir, b.script))).toBe(true);
      const pkg = JSON.parse(readFileSync(join(root, b.dir, 'package.json'), 'utf8'));
      expect(pkg.name).toBe(b.project);
    },
  );

  it.each(BENCHES.map((b) => [b.name, b]))(
    '%s: results in bench-results/, a time limit for each mode',
    (_n, b) => {
      for (const f of b.results) expect(f).toMatch(/^bench-results\/[\w.-]+\.json$/);
      expect(b.results.length > 0 || b.json === 'stdout').toBe(true);
      for (const m of [b.full, b.quick]) expect(m.timeoutMinutes).toBeGreaterThan(0);
      expect(b.quick.timeoutMinutes).toBeLessThanOrEqual(b.full.timeoutMinutes);
    },
  );
});

describe('objectsTable', () => {
  it('renders rows with the first row’s keys as columns and escapes pipes', () => {
    expect(objectsTable([{ a: 1, b: 'x|y' }, { a: 2 }])).toBe(
      '| a | b |\n|---|---|\n| 1 | x\\|y |\n| 2 |  |',
    );
    expect(objectsTable([])).toBe('');
    expect(objectsTable(undefined)).toBe('');
  });
});
