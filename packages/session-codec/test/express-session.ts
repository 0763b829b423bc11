// The real express-session package for the tests, with the few types they need.
import type { IncomingMessage, ServerResponse } from 'node:http';
import expressSession from 'express-session';

// express-session ships no type declarations; these are the parts the tests use.
export type Callback = (err?: unknown, value?: unknown) => void;
export interface ExpressSessionModule {
  (
    options: Record<string, unknown>,
  ): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;
  Store: new () => object;
  Cookie: new (options?: Record<string, unknown>) => CookieInstance;
  Session: new (req: { sessionID: string }, data: Record<string, unknown>) => SessionInstance;
}
export interface CookieInstance {
  originalMaxAge: number | null;
  expires: Date | null;
  readonly maxAge: number | null;
  httpOnly: boolean;
  path: string;
}
export interface SessionInstance {
  [attribute: string]: unknown;
  cookie: CookieInstance;
  save(cb: Callback): void;
  reload(cb: Callback): void;
  regenerate(cb: Callback): void;
}

/** The real express-session 1.19 module (a devDependency), typed for the tests. */
export const es = expressSession as unknown as ExpressSessionModule;
