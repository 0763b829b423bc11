import type { ResolvedConfig, ResolvedMember } from './config/load.js';
import {
  MEMBER_STATES,
  memberSchema,
  STATE_ALIASES,
  type MemberStateName,
} from './config/schema.js';

/**
 * Changes made at run time through the management API, kept apart from the configuration
 * file so that a SIGHUP reload keeps them and a state file can persist them (HAProxy
 * `server-state-file`, httpd `BalancerPersist On`). Plain JSON.
 */
export interface Overrides {
  /** Per balancer, per route: the state and weight set through the API. */
  readonly members: Record<string, Record<string, MemberOverride>>;
  /** Per balancer: members added through the API or discovered (raw member objects). */
  readonly added: Record<string, AddedMember[]>;
  /** Per balancer: routes removed through the API. */
  readonly removed: Record<string, string[]>;
}

/** What the API set on one member. */
export interface MemberOverride {
  state?: MemberStateName;
  weight?: number;
}

/** A member added at run time: the member keys of the configuration file, `route` required. */
export interface AddedMember {
  readonly url: string;
  readonly route: string;
  readonly weight?: number;
  readonly state?: string;
  readonly redirect?: string;
  readonly domain?: string;
  readonly secret?: string;
  readonly maxConnections?: number;
  /** Who added it: `api` or `discovery`. */
  readonly source?: 'api' | 'discovery';
}

/** An empty set of overrides. */
export function noOverrides(): Overrides {
  return { members: {}, added: {}, removed: {} };
}

/** A state change named as cohort, httpd, mod_jk or HAProxy users name it. */
export type StateChange =
  | { readonly kind: 'state'; readonly state: MemberStateName }
  /**
   * httpd `E`: put the member in error now (for the balancer's `retry`). httpd `C` (failed its
   * health check) is read as this too: cohort has one failure state machine, whose active checks
   * bring the member back after `rise` good checks.
   */
  | { readonly kind: 'error' }
  /** httpd `-E` (or `-C`): clear the error state. */
  | { readonly kind: 'clear-error' }
  /** httpd `I` / `-I`: ignore errors (never eject passively) or heed them again. */
  | { readonly kind: 'ignore-errors'; readonly on: boolean };

/** httpd's `R` (hot spare) is cohort's standby too. */
const EXTRA_STATES: Readonly<Record<string, MemberStateName>> = { r: 'standby', '+r': 'standby' };

/**
 * Reads a state change: cohort's names (`active`, `disabled`, `draining`, `standby`,
 * `stopped`), httpd flags (`D S N H R`, `E`/`-E` error, `C`/`-C` failed health check — the
 * same as `E`/`-E` here —, `I`/`-I` ignore errors, `+X` accepted),
 * mod_jk activations (`A D S`), HAProxy (`ready drain maint`). Returns undefined if unknown.
 */
export function parseStateChange(value: string): StateChange | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'e' || v === '+e' || v === 'c' || v === '+c') return { kind: 'error' };
  if (v === '-e' || v === '-c') return { kind: 'clear-error' };
  if (v === 'i' || v === '+i') return { kind: 'ignore-errors', on: true };
  if (v === '-i') return { kind: 'ignore-errors', on: false };
  const bare = v.startsWith('+') ? v.slice(1) : v;
  if ((MEMBER_STATES as readonly string[]).includes(bare))
    return { kind: 'state', state: bare as MemberStateName };
  const s = STATE_ALIASES[bare] ?? EXTRA_STATES[v];
  return s === undefined ? undefined : { kind: 'state', state: s };
}

/** A member added at run time, validated as the configuration file's members are. */
export function resolveAddedMember(m: AddedMember): ResolvedMember {
  const { source: _source, ...raw } = m;
  return { ...memberSchema.parse(raw), route: m.route };
}

/**
 * The configuration with the overrides applied: removed members left out, added ones appended,
 * states and weights replaced. Overrides naming balancers or routes that no longer exist are
 * ignored (the file changed under them). A balancer never loses its last member this way.
 */
export function applyOverrides(config: ResolvedConfig, o: Overrides): ResolvedConfig {
  const balancers = config.balancers.map((b) => {
    const removed = new Set(o.removed[b.name] ?? []);
    const routes = new Set<string>();
    const members: ResolvedMember[] = [];
    for (const m of b.members) {
      if (removed.has(m.route)) continue;
      routes.add(m.route);
      members.push(m);
    }
    for (const a of o.added[b.name] ?? []) {
      if (routes.has(a.route) || removed.has(a.route)) continue;
      routes.add(a.route);
      members.push(resolveAddedMember(a));
    }
    const set = o.members[b.name] ?? {};
    const out = (members.length > 0 ? members : b.members).map((m) => {
      const c = set[m.route];
      if (c === undefined) return m;
      return { ...m, state: c.state ?? m.state, weight: c.weight ?? m.weight };
    });
    // Resin owner letters index the members: a removed member keeps its place, so the letters
    // of the others still name them; added members take the next places.
    const routeOrder = [...(b.routeOrder ?? b.members.map((m) => m.route))];
    for (const m of out) if (!routeOrder.includes(m.route)) routeOrder.push(m.route);
    return { ...b, members: out, routeOrder };
  });
  return { ...config, balancers };
}
