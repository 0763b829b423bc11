import { IncomingMessage, ServerResponse } from 'node:http';
import { AjpIncomingRequest } from './incoming-request.js';
import type { AjpRequestListener } from './server.js';
import { AjpServerResponse } from './server-response.js';

/** The parts of an Express 5 application that {@link expressListener} uses. */
export interface ExpressLikeApp {
  /** Express's request handler. */
  handle(req: unknown, res: unknown, next?: (err?: unknown) => void): void;
  /** The object Express makes every request inherit from. */
  request: object;
  /** The object Express makes every response inherit from. */
  response: object;
}

/** A copy of `proto`'s chain down to (not including) `stopAt`, re-rooted on `root`. */
function rebase(proto: object, stopAt: object, root: object): object {
  const chain: object[] = [];
  for (
    let p: object | null = proto;
    p !== null && p !== stopAt;
    p = Object.getPrototypeOf(p) as object | null
  )
    chain.push(p);
  let base = root;
  for (const p of chain.reverse())
    base = Object.create(base, Object.getOwnPropertyDescriptors(p)) as object;
  return base;
}

/**
 * Mounts an Express application on {@link createAjpServer}: `createAjpServer(opts,
 * expressListener(app))`. Express replaces the prototype of every request and response with its
 * own objects built on Node's `http` classes; this listener hands Express copies of those objects
 * built on the AJP request and response instead, so `req.ip`, `req.protocol`, `res.send`,
 * `res.json`, `res.cookie`, body parsers and routers work unchanged. The app itself is not modified
 * and can serve HTTP at the same time. Sub-applications mounted with `app.use(path, subApp)` swap
 * prototypes again and are not supported; use `express.Router()`. Express 4 (untested) sets the
 * prototypes from its own app object inside its router, so it is not expected to work.
 */
export function expressListener(app: ExpressLikeApp): AjpRequestListener {
  const wrapper = Object.create(app, {
    request: {
      value: rebase(app.request, IncomingMessage.prototype, AjpIncomingRequest.prototype),
    },
    response: {
      value: rebase(app.response, ServerResponse.prototype, AjpServerResponse.prototype),
    },
  }) as ExpressLikeApp;
  return (req, res) => app.handle.call(wrapper, req, res);
}
