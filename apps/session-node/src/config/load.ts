import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parse } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './errors.js';
import { configSchema, type NodeConfig } from './schema.js';

function pathOf(issue: z.core.$ZodIssue): string {
  const parts = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') parts.push(issue.keys[0] ?? '');
  return parts.join('.');
}

/**
 * Validates a configuration object and applies the defaults.
 *
 * @param input - the parsed YAML or JSON
 * @throws ConfigError naming the first bad key
 */
export function resolveNodeConfig(input: unknown): NodeConfig {
  const r = configSchema.safeParse(input ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const message =
      issue.code === 'unrecognized_keys'
        ? 'unknown key'
        : issue.message.replace(/^Invalid /, 'invalid ');
    throw new ConfigError(pathOf(issue), message);
  }
  const c = r.data;
  return {
    ...c,
    name:
      c.name ??
      hostname()
        .replace(/[^A-Za-z0-9_.-]/g, '-')
        .slice(0, 64),
  };
}

/**
 * Reads and validates a YAML (or JSON) configuration file.
 *
 * @param file - the path
 * @throws ConfigError for an unreadable file, bad YAML, or a bad key
 */
export function loadNodeConfig(file: string): NodeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('', `cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch (err) {
    throw new ConfigError('', `${file} is not valid YAML: ${(err as Error).message}`);
  }
  return resolveNodeConfig(parsed);
}
