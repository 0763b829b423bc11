import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

import {
  cohortSession,
  sessionOf,
  type AckLevel,
  type CohortSessionMiddleware,
  type SessionBackend,
} from '@cohort/session-client';
import express from 'express';

import {
  attributeValue,
  attributesToWrite,
  SHAPES,
  type AttributeSize,
  type WriteMode,
} from './workload.js';

/** What the application measured of its own requests. */
export interface AppStats {
  /** Requests of the study page answered. */
  requests: number;
  /** Sum of request times (middleware entry to the response handed to the OS), ms. */
  requestMsTotal: number;
}

/** Create/apply calls of the middleware and the time it waited for their acknowledgement. */
export interface AckStats {
  /** Writes acknowledged (create + apply). */
  writes: number;
  /** Sum of the time from each write's call to its acknowledgement, ms. */
  ackMsTotal: number;
}

/**
 * Wraps a backend and times its writes: the time the middleware holds a response waiting for
 * the store's acknowledgement — cohort's replication time (at `owner`, the owner's write; at
 * `quorum` or `all`, until that many copies hold it).
 */
export function timedBackend(inner: SessionBackend, stats: AckStats): SessionBackend {
  const timed = async <T>(p: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const v = await p();
    stats.ackMsTotal += performance.now() - t0;
    stats.writes++;
    return v;
  };
  const b: SessionBackend = {
    load: (key, options) => inner.load(key, options),
    create: (session, options) => timed(() => inner.create(session, options)),
    apply: (key, delta, options) => timed(() => inner.apply(key, delta, options)),
    touch: (entries) => inner.touch(entries),
    destroy: (key) => inner.destroy(key),
    close: () => Promise.resolve(), // the study closes the shared backend itself
  };
  if (inner.revalidate) {
    const revalidate = inner.revalidate.bind(inner);
    b.revalidate = (key, known, options) => revalidate(key, known, options);
  }
  return b;
}

/** One study application: Express, `cohortSession()`, the study page. */
export interface StudyApp {
  /** The route it issues ids for. */
  readonly route: string;
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Its own measurements. */
  readonly stats: AppStats;
  /** The middleware (its `stats` count loads, cache hits, re-pins). */
  readonly sessions: CohortSessionMiddleware;
  /** Stops listening and closes its connections. */
  close(): Promise<void>;
}

/**
 * Starts the study application on 127.0.0.1 (a free port): `GET /study?size=&mode=&seq=` writes
 * the session as the workload says and answers `ok node=<route> new=<bool> wrote=<n>` — the
 * same page as the Tomcat JSP.
 */
export async function startStudyApp(opts: {
  route: string;
  backend: SessionBackend;
  level?: AckLevel;
}): Promise<StudyApp> {
  const stats: AppStats = { requests: 0, requestMsTotal: 0 };
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use((req, res, next) => {
    const t0 = performance.now();
    res.once('finish', () => {
      stats.requests++;
      stats.requestMsTotal += performance.now() - t0;
    });
    next();
  });
  const sessions = cohortSession({
    backend: opts.backend,
    route: opts.route,
    ...(opts.level ? { level: opts.level } : {}),
  });
  app.use(sessions);
  app.get('/study', (req, res) => {
    const size = req.query.size === 'large' ? 'large' : 'small';
    const mode = req.query.mode === 'full' ? 'full' : 'delta';
    const seq = Number(req.query.seq ?? 0);
    const s = sessionOf(req);
    const shape = SHAPES[size as AttributeSize];
    const fresh = !s.has('a0');
    const which = attributesToWrite(shape, mode as WriteMode, seq, fresh);
    for (const i of which) s.set(`a${i}`, attributeValue(seq, i, shape.bytes));
    res
      .type('text/plain')
      .send(`ok node=${opts.route} new=${String(fresh)} wrote=${which.length}\n`);
  });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    route: opts.route,
    port,
    stats,
    sessions,
    async close() {
      sessions.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
