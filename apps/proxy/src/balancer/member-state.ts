import type { MemberStateName } from '../config/schema.js';

/**
 * The balancing view of one member: its configuration and the counters the methods read. Pure
 * data; the proxy updates the counters, the decision functions only read them (and byrequests'
 * `lbstatus`, which it owns).
 */
export interface MemberState {
  /** Position in the balancer's member list. */
  index: number;
  /** The route: Tomcat `jvmRoute`, mod_jk worker name. */
  readonly route: string;
  /** Relative weight the methods use now: `configuredWeight`, ramped during a slow start. */
  weight: number;
  /** Relative weight as configured or set through the management API (`loadfactor`, `lbfactor`). */
  configuredWeight: number;
  /** Administrative state. */
  state: MemberStateName;
  /** Route of the member that takes this one's sessions when it is unusable. */
  redirect: string | undefined;
  /** Replication group (Tomcat cluster partners): failover prefers the same domain. */
  domain: string | undefined;
  /** Passive detection never ejects it (httpd's `I` flag). */
  ignoreErrors: boolean;
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
  /** Answers that were errors for the client (5xx sent or failed attempts), since start. */
  errors: number;
  /** Requests retried on another member after failing on this one. */
  retries: number;
  /** Requests this member took over from an unusable owner. */
  failovers: number;
  /** Sessions re-pinned to this member (routing cookie set to it). */
  repins: number;
  /** The last failure: what, in which phase, when (caller's clock). */
  lastError: { readonly message: string; readonly phase: string; readonly at: number } | undefined;
  /** When the member last answered (any status, caller's clock); undefined: never yet. */
  lastAnswerAt: number | undefined;
  /** Times ejected in a row (exponential back-off); reset by a good answer. */
  ejections: number;
  /** Active health: `unchecked` without checks, else `up` or `down` (then unusable). */
  health: 'unchecked' | 'up' | 'down';
  /** Consecutive passed / failed checks (towards `rise` / `fall`). */
  checkPasses: number;
  checkFails: number;
  /** Duration of the last check, ms; when it ran (caller's clock); what failed. */
  checkLatency: number | undefined;
  checkedAt: number | undefined;
  checkError: string | undefined;
  /** When the member last came back up (slow start ramps its weight from here). */
  recoveredAt: number | undefined;
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
    configuredWeight: m.weight ?? 1,
    state: m.state ?? 'active',
    redirect: m.redirect,
    domain: m.domain,
    errorUntil: 0,
    inflight: 0,
    lbstatus: 0,
    traffic: 0,
    requests: 0,
    consecutiveFailures: 0,
    ignoreErrors: false,
    warning: undefined,
    warnedAt: -Infinity,
    errors: 0,
    retries: 0,
    failovers: 0,
    repins: 0,
    lastError: undefined,
    lastAnswerAt: undefined,
    ejections: 0,
    health: 'unchecked',
    checkPasses: 0,
    checkFails: 0,
    checkLatency: undefined,
    checkedAt: undefined,
    checkError: undefined,
    recoveredAt: undefined,
  };
}

/** Not in error (passive ejection) and not failing its health checks. */
export function healthy(m: MemberState, now: number): boolean {
  return m.errorUntil <= now && m.health !== 'down';
}

/** Not stopped and healthy: may take requests for its own sessions. */
export function servesOwn(m: MemberState, now: number): boolean {
  return m.state !== 'stopped' && healthy(m, now);
}

/** May take a session redirected to it (`redirect`): active, disabled or standby, healthy. */
export function takesRedirect(m: MemberState, now: number): boolean {
  return (
    (m.state === 'active' || m.state === 'disabled' || m.state === 'standby') && healthy(m, now)
  );
}

/** May take new sessions: active and healthy. */
export function takesNew(m: MemberState, now: number): boolean {
  return m.state === 'active' && healthy(m, now);
}
