import type { RequestHandler } from 'express';

/** A value the demo's attribute API stores. */
export type DemoValue = string | number | boolean;

/** Attribute names the API accepts (`PUT /api/session/attributes/:name`). */
export const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Names the demo keeps for itself; the attribute API refuses them. */
export const RESERVED_ATTRIBUTES: ReadonlySet<string> = new Set([
  'counter',
  'createdBy',
  'createdAt',
]);

/** True when `v` is a value the attribute API stores. */
export function isDemoValue(v: unknown): v is DemoValue {
  return (
    typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))
  );
}

/** What the demo's routes see of the request's session, wherever the session is kept. */
export interface DemoSessionView {
  /** The session id, `<key>.<route>` (after a failover: the route of the instance serving it). */
  readonly id: string;
  /** What the session is stored under (with a session backend; the id without its route). */
  readonly key?: string;
  /** When it was created (ms since the epoch). */
  readonly createdAt: number;
  /** The instance (route) that created it. */
  readonly createdBy: string;
  /** Page views counted in it. */
  readonly counter: number;
  /** Counts one page view; returns the new counter. */
  count(): number;
  /** The application's own attributes (not the demo's `counter`, `createdBy`, `createdAt`). */
  attributes(): Record<string, DemoValue>;
  /** Sets one of the application's attributes. */
  set(name: string, value: DemoValue): void;
  /** Removes one of the application's attributes. */
  remove(name: string): void;
}

/**
 * A way of keeping the demo's sessions: a middleware that finds (or starts) the request's session
 * and puts its {@link DemoSessionView} in `res.locals.session`, and what to do at shutdown.
 */
export interface DemoSessions {
  /** `memory`: this process's memory; `cohort`: `cohortSession()` over a `SessionBackend`. */
  readonly kind: 'memory' | 'cohort';
  /** The session cookie's name. */
  readonly cookieName: string;
  /** Sets `res.locals.session`. */
  readonly middleware: RequestHandler;
  /** Sends anything still waiting (batched touches). The backend is not closed. */
  close(): Promise<void>;
}
