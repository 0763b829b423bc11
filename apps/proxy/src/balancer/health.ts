import type { FailurePhase } from './retry.js';
import { marksMemberInError } from './retry.js';
import type { MemberState } from './member-state.js';

/**
 * One state machine for a member's health, fed by active checks and by real traffic (passive
 * outlier detection). Pure: it reads and writes {@link MemberState} fields and takes the time;
 * timers and sockets live in the health checker.
 *
 * - Active checks: `fall` consecutive failed checks take an `up` (or `unchecked`) member `down`;
 *   `rise` consecutive passed checks bring a `down` member `up` again, and start its slow start.
 *   A `down` member is unusable whatever its passive state.
 * - Passive: a transport failure (connection refused or timed out, reset before any answer)
 *   ejects the member at once; `consecutiveFailures` failed answers in a row (5xx, invalid,
 *   timed out) eject it too — but never when no other member could serve (a member that
 *   answers, however badly, is better than none). An ejection lasts
 *   `baseEjection × 2^(ejections − 1)`, at most `maxEjection`; a good answer resets both counts. At most `maxEjectionPercent` of the
 *   balancer's members are ejected at once (always at least one may be), so a fault that hits
 *   everyone never empties the balancer.
 */

/** The passive-detection settings of a balancer. */
export interface OutlierPolicy {
  /** Failed answers in a row that eject (Envoy `consecutive_5xx`). */
  readonly consecutiveFailures: number;
  /** The first ejection's length, ms (the balancer's `retry`). */
  readonly baseEjection: number;
  /** The longest ejection, ms. */
  readonly maxEjection: number;
  /** Most members ejected at once, in percent of the balancer (at least one). */
  readonly maxEjectionPercent: number;
}

/** The active-check thresholds. */
export interface CheckPolicy {
  readonly rise: number;
  readonly fall: number;
}

/** What a health transition was, for the log and the live status page. */
export type HealthEvent = 'ejected' | 'down' | 'up' | undefined;

/** A failed answer in `phase` counts towards `consecutiveFailures` (a transport failure ejects alone). */
function countsAsFailedAnswer(phase: FailurePhase): boolean {
  return phase === 'invalid' || phase === 'timeout';
}

/** Whether one more member of `peers` may be ejected under the policy's percentage. */
function mayEject(
  m: MemberState,
  peers: readonly MemberState[],
  p: OutlierPolicy,
  now: number,
): boolean {
  let ejected = 0;
  for (const x of peers) if (x !== m && x.errorUntil > now) ejected++;
  const allowed = Math.max(1, Math.floor((peers.length * p.maxEjectionPercent) / 100));
  return ejected < allowed;
}

/**
 * Whether another member of `peers` can serve now: not ejected, not down, not stopped, and not
 * last seen failing at the transport level (a dead member whose ejection ran out is not counted
 * until it answers again).
 */
function anotherServes(m: MemberState, peers: readonly MemberState[], now: number): boolean {
  for (const x of peers) {
    if (x === m || x.state === 'stopped' || x.errorUntil > now || x.health === 'down') continue;
    const e = x.lastError;
    const deadLastSeen =
      e !== undefined &&
      (e.phase === 'connect' || e.phase === 'sent') &&
      (x.lastAnswerAt === undefined || e.at >= x.lastAnswerAt);
    if (!deadLastSeen) return true;
  }
  return false;
}

function eject(m: MemberState, p: OutlierPolicy, now: number): void {
  m.ejections++;
  const length = Math.min(p.maxEjection, p.baseEjection * 2 ** Math.min(30, m.ejections - 1));
  m.errorUntil = now + length;
  m.consecutiveFailures = 0;
}

/**
 * A request attempt on `m` failed in `phase`. Returns `ejected` when this put the member in
 * error, else `undefined`. Failures the client caused (`request`, `queue`, `responding` after
 * the answer started) leave the member's health alone.
 */
export function recordFailure(
  m: MemberState,
  phase: FailurePhase,
  message: string,
  now: number,
  peers: readonly MemberState[],
  p: OutlierPolicy,
): HealthEvent {
  m.lastError = { message, phase, at: now };
  if (m.ignoreErrors) return undefined;
  let mark = marksMemberInError(phase);
  // A member that answers, however badly, is not ejected when no other could serve: its failed
  // answers may be its dependencies' fault, and ejecting it would fail everyone.
  if (!mark && countsAsFailedAnswer(phase))
    mark = ++m.consecutiveFailures >= p.consecutiveFailures && anotherServes(m, peers, now);
  if (!mark || m.errorUntil > now) return undefined;
  if (!mayEject(m, peers, p, now)) return undefined;
  eject(m, p, now);
  return 'ejected';
}

/**
 * `m` answered with `status`. A 5xx counts as a failed answer (and may eject, as
 * {@link recordFailure}); anything else is a good answer, which resets the failure counts.
 */
export function recordAnswer(
  m: MemberState,
  status: number,
  now: number,
  peers: readonly MemberState[],
  p: OutlierPolicy,
): HealthEvent {
  m.lastAnswerAt = now;
  if (status < 500) {
    m.consecutiveFailures = 0;
    if (m.errorUntil <= now) m.ejections = 0;
    return undefined;
  }
  if (++m.consecutiveFailures < p.consecutiveFailures || m.errorUntil > now || m.ignoreErrors)
    return undefined;
  // 5xx answers (an application whose store or database is down) never eject the last member
  // that can serve: the others may be ejected or dead, and an answer beats a 503 from us.
  if (!anotherServes(m, peers, now) || !mayEject(m, peers, p, now)) return undefined;
  m.lastError = {
    message: `${p.consecutiveFailures} answers in a row were ${status}`,
    phase: 'answer',
    at: now,
  };
  eject(m, p, now);
  return 'ejected';
}

/** An active check of `m` passed or failed. Returns `down` or `up` on a transition. */
export function recordCheck(
  m: MemberState,
  ok: boolean,
  latency: number,
  error: string | undefined,
  now: number,
  p: CheckPolicy,
): HealthEvent {
  m.checkLatency = latency;
  m.checkedAt = now;
  m.checkError = ok ? undefined : error;
  if (ok) {
    m.checkFails = 0;
    m.checkPasses++;
    if (m.health === 'down' && m.checkPasses >= p.rise) {
      m.health = 'up';
      m.recoveredAt = now;
      m.errorUntil = 0;
      m.ejections = 0;
      return 'up';
    }
    if (m.health === 'unchecked') m.health = 'up';
    return undefined;
  }
  m.checkPasses = 0;
  m.checkFails++;
  if (m.health !== 'down' && m.checkFails >= p.fall) {
    m.health = 'down';
    m.lastError = { message: error ?? 'health check failed', phase: 'check', at: now };
    return 'down';
  }
  return undefined;
}

/**
 * The weight `m` should have at `now` during a slow start of `slowStart` ms after it came back
 * up: ramping linearly from 10 % to its configured weight (HAProxy `slowstart`, Envoy
 * `min_weight_percent` 10 %). Outside a slow start, the configured weight.
 */
export function slowStartWeight(m: MemberState, now: number, slowStart: number): number {
  const since = m.recoveredAt;
  if (slowStart <= 0 || since === undefined) return m.configuredWeight;
  const elapsed = now - since;
  if (elapsed >= slowStart) return m.configuredWeight;
  return m.configuredWeight * Math.max(0.1, elapsed / slowStart);
}
