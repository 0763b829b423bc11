import type { MemberStateName } from '../config/schema.js';

/**
 * The balancing view of one member: its configuration and the counters the methods read. Pure
 * data; the proxy updates the counters, the decision functions only read them (and byrequests'
 * `lbstatus`, which it owns).
 */
export interface MemberState {
  /** Position in the balancer's member list. */
  readonly index: number;
  /** The route: Tomcat `jvmRoute`, mod_jk worker name. */
  readonly route: string;
  /** Relative weight (`loadfactor`, `lbfactor`). */
  readonly weight: number;
  /** Administrative state. */
  state: MemberStateName;
  /** Route of the member that takes this one's sessions when it is unusable. */
  readonly redirect: string | undefined;
  /** Replication group (Tomcat cluster partners): failover prefers the same domain. */
  readonly domain: string | undefined;
  /** In error (passive detection) until this time, in ms on the caller's clock; 0 = healthy. */
  errorUntil: number;
  /** Requests in flight now. */
  inflight: number;
  /** byrequests' running score (httpd `lbstatus`). */
  lbstatus: number;
  /** Bytes moved both ways (bytraffic). */
  traffic: number;
  /** Requests sent since start. */
  requests: number;
  /** Failed answers (invalid, timed out) since the last good one (outlier detection). */
  consecutiveFailures: number;
  /**
   * A problem an operator must fix, seen on the member's last answers (e.g. the AJP secret
   * refused); cleared by a good answer. Never holds request data.
   */
  warning: string | undefined;
  /** When `warning` was last logged, ms on the caller's clock (rate limit). */
  warnedAt: number;
}

/** A fresh member state. */
export function memberState(
  index: number,
  m: {
    route: string;
    weight?: number;
    state?: MemberStateName;
    redirect?: string | undefined;
    domain?: string | undefined;
  },
): MemberState {
  return {
    index,
    route: m.route,
    weight: m.weight ?? 1,
    state: m.state ?? 'active',
    redirect: m.redirect,
    domain: m.domain,
    errorUntil: 0,
    inflight: 0,
    lbstatus: 0,
    traffic: 0,
    requests: 0,
    consecutiveFailures: 0,
    warning: undefined,
    warnedAt: -Infinity,
  };
}

/** Not stopped and not in error: may take requests for its own sessions. */
export function servesOwn(m: MemberState, now: number): boolean {
  return m.state !== 'stopped' && m.errorUntil <= now;
}

/** May take a session redirected to it (`redirect`): active, disabled or standby, not in error. */
export function takesRedirect(m: MemberState, now: number): boolean {
  return (
    (m.state === 'active' || m.state === 'disabled' || m.state === 'standby') && m.errorUntil <= now
  );
}

/** May take new sessions: active and not in error. */
export function takesNew(m: MemberState, now: number): boolean {
  return m.state === 'active' && m.errorUntil <= now;
}
