import { createRouteReader, type AffinityOptions, type RouteReader } from './balancer/affinity.js';
import type { BalancerView } from './balancer/decide.js';
import type { OutlierPolicy } from './balancer/health.js';
import { memberState, type MemberState } from './balancer/member-state.js';
import { createMethod } from './balancer/methods.js';
import { createRouter } from './balancer/router.js';
import type { ResolvedBalancer, ResolvedConfig, ResolvedMember } from './config/load.js';
import type { ResponseRewrite } from './http/rewrite.js';
import { createAjpMember } from './members/ajp-member.js';
import { createHttpMember } from './members/http-member.js';
import type { MemberTransport } from './members/transport.js';

/** A member at run time: its config, its balancing state and its transport. */
export interface MemberRuntime {
  readonly config: ResolvedMember;
  readonly state: MemberState;
  readonly transport: MemberTransport;
  /** `host:port`, the Host sent when the client's is not preserved. */
  readonly hostPort: string;
}

/** A balancer at run time. */
export interface BalancerRuntime {
  readonly config: ResolvedBalancer;
  readonly name: string;
  readonly hosts: readonly string[] | undefined;
  readonly path: string;
  readonly view: BalancerView;
  readonly members: readonly MemberRuntime[];
  /** Member runtime by balancing state (decide() returns states). */
  readonly byState: ReadonlyMap<MemberState, MemberRuntime>;
  readonly readRoutes: RouteReader;
  readonly affinity: AffinityOptions;
  readonly rewrite: ResponseRewrite;
  /** Passive detection settings (`retry` and `outlier`). */
  readonly outlier: OutlierPolicy;
}

/** Everything built from one configuration: replaced as a whole on reload. */
export interface Runtime {
  readonly config: ResolvedConfig;
  readonly balancers: readonly BalancerRuntime[];
  readonly route: (host: string | undefined, target: string) => BalancerRuntime | undefined;
}

function memberKey(m: ResolvedMember): string {
  return `${m.url.origin}|${m.secret ?? ''}|${m.maxConnections}`;
}

function stateKey(balancer: string, m: ResolvedMember): string {
  return `${balancer}|${m.route}|${m.url.origin}`;
}

/**
 * The balancing state of a member that was already running (same balancer, route and URL) is
 * kept across a reload or a management change — its counters, health, error period and
 * requests in flight — with the configured fields (position, state, weight, redirect, domain)
 * taken from the new configuration. Other members start fresh.
 */
function carriedState(old: MemberState | undefined, index: number, m: ResolvedMember): MemberState {
  if (old === undefined) return memberState(index, m);
  const weight = m.weight ?? 1;
  if (old.configuredWeight !== weight) {
    old.weight = old.weight === old.configuredWeight ? weight : Math.min(old.weight, weight);
    old.configuredWeight = weight;
  }
  old.index = index;
  old.state = m.state ?? 'active';
  old.redirect = m.redirect;
  old.domain = m.domain;
  return old;
}

function transportFor(m: ResolvedMember, config: ResolvedConfig): MemberTransport {
  if (m.url.protocol === 'ajp') {
    return createAjpMember({
      host: m.url.host,
      port: m.url.port,
      secret: m.secret,
      route: m.route,
      maxConnections: m.maxConnections,
      connectTimeout: config.timeouts.connect,
      replyTimeout: config.timeouts.response,
      queueTimeout: config.timeouts.queue,
    });
  }
  return createHttpMember({
    origin: m.url.origin,
    maxConnections: m.maxConnections,
    connectTimeout: config.timeouts.connect,
    responseTimeout: config.timeouts.response,
    bodyTimeout: config.timeouts.body,
    queueTimeout: config.timeouts.queue,
  });
}

/**
 * Builds the run-time objects of a configuration. Transports of members whose URL (and secret
 * and pool size) did not change are taken over from `previous`, with their connections; the
 * others are new. Returns the runtime and the transports of `previous` that are no longer used
 * (the caller closes them once their requests have drained).
 */
export function buildRuntime(
  config: ResolvedConfig,
  previous?: Runtime,
): { runtime: Runtime; retired: MemberTransport[] } {
  const reuse = new Map<string, MemberTransport[]>();
  const kept = new Map<string, MemberState>();
  for (const b of previous?.balancers ?? []) {
    for (const m of b.members) {
      const k = memberKey(m.config);
      reuse.set(k, [...(reuse.get(k) ?? []), m.transport]);
      kept.set(stateKey(b.name, m.config), m.state);
    }
  }
  const balancers = config.balancers.map((b): BalancerRuntime => {
    const members = b.members.map((m, i): MemberRuntime => {
      const pooled = reuse.get(memberKey(m))?.shift();
      return {
        config: m,
        state: carriedState(kept.get(stateKey(b.name, m)), i, m),
        transport: pooled ?? transportFor(m, config),
        hostPort: m.url.origin.replace(/^[a-z]+:\/\//, ''),
      };
    });
    const states = members.map((m) => m.state);
    const affinity: AffinityOptions = b.affinity;
    return {
      config: b,
      name: b.name,
      hosts: b.hosts,
      path: b.path,
      members,
      byState: new Map(members.map((m) => [m.state, m])),
      view: {
        members: states,
        byRoute: new Map(states.map((s) => [s.route, s])),
        method: createMethod(b.method),
        repin: b.repin,
        failback: b.failback,
      },
      readRoutes: createRouteReader(affinity, b.routeOrder ?? members.map((m) => m.config.route)),
      affinity,
      outlier: {
        consecutiveFailures: b.outlier.consecutiveFailures,
        baseEjection: b.retry,
        maxEjection: Math.max(b.retry, b.outlier.maxEjectionTime),
        maxEjectionPercent: b.outlier.maxEjectionPercent,
      },
      rewrite: {
        location: b.headers.rewriteLocation,
        memberOrigins: b.members.flatMap((m) =>
          m.url.protocol === 'http'
            ? [
                `http://${m.url.origin.slice(7).toLowerCase()}`,
                ...(m.url.port === 80 ? [`http://${m.url.host.toLowerCase()}`] : []),
              ]
            : [],
        ),
        cookiePath: b.headers.cookiePath,
        cookieDomain: b.headers.cookieDomain,
      },
    };
  });
  const retired = [...reuse.values()].flat();
  return { runtime: { config, balancers, route: createRouter(balancers) }, retired };
}
