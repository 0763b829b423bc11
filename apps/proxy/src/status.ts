import type { ProxyStats } from './proxy.js';
import type { Runtime } from './runtime.js';

/** One member as the status page, the management API and the metrics show it. */
export interface MemberStatus {
  readonly balancer: string;
  readonly route: string;
  /** `http://host:port` or `ajp://host:port`. */
  readonly url: string;
  readonly protocol: 'http' | 'ajp';
  /** Administrative state: `active`, `disabled`, `draining`, `standby`, `stopped`. */
  readonly state: string;
  /**
   * What the balancer sees now: `ok`, `ejected` (passive detection, for `ejectedForMs`), `down`
   * (failed its health checks), `stopped` (administratively).
   */
  readonly health: 'ok' | 'ejected' | 'down' | 'stopped';
  /** Active checks: `unchecked`, `up` or `down`. */
  readonly check: 'unchecked' | 'up' | 'down';
  readonly weight: number;
  /** The weight in use now (lower during a slow start). */
  readonly effectiveWeight: number;
  readonly inflight: number;
  readonly requests: number;
  /** Response bytes relayed from the member. */
  readonly bytes: number;
  readonly errors: number;
  readonly retries: number;
  readonly failovers: number;
  readonly repins: number;
  readonly ejections: number;
  /** Remaining ejection, ms (0 when not ejected). */
  readonly ejectedForMs: number;
  readonly ignoreErrors: boolean;
  /** Duration of the last health check, ms. */
  readonly checkLatencyMs: number | undefined;
  /** Why the last check failed. */
  readonly checkError: string | undefined;
  /** The last failure, and how long ago it was (ms). */
  readonly lastError:
    { readonly message: string; readonly phase: string; readonly agoMs: number } | undefined;
  /** A problem an operator must fix (e.g. the AJP secret refused). */
  readonly warning: string | undefined;
  /** Where it comes from: the configuration file, the management API or discovery. */
  readonly source: 'config' | 'api' | 'discovery';
}

/** One balancer and its members. */
export interface BalancerStatus {
  readonly name: string;
  readonly hosts: readonly string[] | undefined;
  readonly path: string;
  readonly method: string;
  readonly members: readonly MemberStatus[];
}

/** Everything the status page shows, as JSON. */
export interface ProxyStatus {
  /** Time of the snapshot, ms since the epoch. */
  readonly at: number;
  readonly uptimeMs: number;
  readonly pid: number;
  readonly totals: Readonly<ProxyStats>;
  readonly balancers: readonly BalancerStatus[];
}

/** Builds the status snapshot of a runtime at `now` (the proxy's clock). */
export function buildStatus(
  runtime: Runtime,
  totals: ProxyStats,
  now: number,
  startedAt: number,
  sourceOf: (balancer: string, route: string) => MemberStatus['source'],
): ProxyStatus {
  return {
    at: Date.now(),
    uptimeMs: Math.round(now - startedAt),
    pid: process.pid,
    totals: { ...totals },
    balancers: runtime.balancers.map((b) => ({
      name: b.name,
      hosts: b.hosts,
      path: b.path,
      method: b.config.method,
      members: b.members.map((m): MemberStatus => {
        const s = m.state;
        const ejected = s.errorUntil > now;
        return {
          balancer: b.name,
          route: s.route,
          url: m.config.url.origin,
          protocol: m.config.url.protocol,
          state: s.state,
          health:
            s.state === 'stopped'
              ? 'stopped'
              : s.health === 'down'
                ? 'down'
                : ejected
                  ? 'ejected'
                  : 'ok',
          check: s.health,
          weight: s.configuredWeight,
          effectiveWeight: Math.round(s.weight * 100) / 100,
          inflight: s.inflight,
          requests: s.requests,
          bytes: s.traffic,
          errors: s.errors,
          retries: s.retries,
          failovers: s.failovers,
          repins: s.repins,
          ejections: s.ejections,
          ejectedForMs: ejected ? Math.round(s.errorUntil - now) : 0,
          ignoreErrors: s.ignoreErrors,
          checkLatencyMs:
            s.checkLatency === undefined ? undefined : Math.round(s.checkLatency * 10) / 10,
          checkError: s.checkError,
          lastError:
            s.lastError === undefined
              ? undefined
              : {
                  message: s.lastError.message,
                  phase: s.lastError.phase,
                  agoMs: Math.round(now - s.lastError.at),
                },
          warning: s.warning,
          source: sourceOf(b.name, s.route),
        };
      }),
    })),
  };
}
