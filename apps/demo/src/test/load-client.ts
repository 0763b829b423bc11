/**
 * A browser-like client of the cluster end-to-end test: one cookie jar (one session), requests
 * that count page views and set the client's own attribute, and the history of every response.
 */
import type { ClientOp } from './history.js';

/** The JSON the demo answers with. */
export interface SessionJson {
  readonly id: string;
  readonly instance: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly counter: number;
  readonly attributes: Record<string, unknown>;
}

/** One request as the load saw it. */
export interface RequestRecord {
  /** The test's phase when the answer (or the failure) came. */
  readonly phase: string;
  readonly status: number;
  readonly startedAt: number;
  readonly ms: number;
  /** A failed request's body or error (its first 160 characters). */
  readonly detail?: string;
}

/** A response (status 0: none, the connection failed or timed out; -1: a 200 that was not JSON). */
export interface Answer {
  readonly status: number;
  readonly json: SessionJson | undefined;
  readonly startedAt: number;
  readonly endedAt: number;
}

/** A cookie jar and the requests made with it. */
export class LoadClient {
  readonly #jar = new Map<string, string>();
  /** Every count/set/read, in order, with what its response showed. */
  readonly ops: ClientOp[] = [];
  /** Every request, for the per-phase figures. */
  readonly requests: RequestRecord[] = [];
  /** The instance that answered last. */
  instance: string | undefined;
  /** Instances that served this session, in order of first appearance. */
  readonly instances: string[] = [];
  #next = 1;

  /**
   * @param attribute - the client's own attribute name
   * @param phase - names the test's current phase (read when a request ends)
   * @param uncertainAt - true when a request that ran over [start, end] may have been applied
   *   twice or unseen (it was in flight at an instance that was killed)
   */
  constructor(
    readonly attribute: string,
    private readonly phase: () => string,
    private readonly uncertainAt: (start: number, end: number) => boolean = () => false,
  ) {}

  /** The Cookie header this jar sends. */
  get cookie(): string {
    return [...this.#jar].map(([n, v]) => `${n}=${v}`).join('; ');
  }

  /** Sends one request with the jar's cookies and keeps the cookies the response sets. */
  async send(method: string, url: string, body?: string): Promise<Answer> {
    const startedAt = Date.now();
    let status = 0;
    let json: SessionJson | undefined;
    let detail: string | undefined;
    try {
      const headers: Record<string, string> = {};
      if (this.#jar.size > 0) headers['cookie'] = this.cookie;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const r = await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await r.text();
      status = r.status;
      for (const sc of r.headers.getSetCookie()) {
        const kv = sc.slice(0, sc.indexOf(';') >= 0 ? sc.indexOf(';') : undefined);
        const eq = kv.indexOf('=');
        const name = kv.slice(0, eq);
        if (/;\s*Max-Age=0/i.test(sc) || /;\s*Expires=Thu, 01 Jan 1970/i.test(sc))
          this.#jar.delete(name);
        else this.#jar.set(name, kv.slice(eq + 1));
      }
      if (status === 200) json = JSON.parse(text) as SessionJson;
      else detail = text.slice(0, 160);
    } catch (e) {
      detail = String((e as Error).cause ?? e).slice(0, 160);
      // No response (connection refused or reset, timeout): status 0. A 200 whose body is not
      // the session's JSON: -1. Both are failed requests.
      if (status === 200) status = -1;
    }
    const endedAt = Date.now();
    this.requests.push({
      // The phase it ended in: a request in flight when a process is killed counts for the kill.
      phase: this.phase(),
      status,
      startedAt,
      ms: endedAt - startedAt,
      ...(detail !== undefined ? { detail } : {}),
    });
    if (json !== undefined) {
      this.instance = json.instance;
      if (!this.instances.includes(json.instance)) this.instances.push(json.instance);
    }
    return { status, json, startedAt, endedAt };
  }

  #record(kind: ClientOp['kind'], a: Answer, value?: number): void {
    const ok = a.status === 200 && a.json !== undefined;
    const j = a.json;
    const attribute = j?.attributes[this.attribute];
    this.ops.push({
      kind,
      ok,
      uncertain: !ok || this.uncertainAt(a.startedAt, a.endedAt),
      ...(value !== undefined ? { value } : {}),
      ...(ok && j !== undefined
        ? {
            seen: {
              key: j.id.slice(0, j.id.lastIndexOf('.')),
              createdAt: j.createdAt,
              counter: j.counter,
              attribute: typeof attribute === 'number' ? attribute : undefined,
            },
          }
        : {}),
    });
  }

  /** A page view: `GET /api/session` (counter + 1). */
  async count(base: string): Promise<Answer> {
    const a = await this.send('GET', `${base}/api/session`);
    this.#record('count', a);
    return a;
  }

  /** Sets the client's own attribute to the next value: `PUT /api/session/attributes/<name>`. */
  async setNext(base: string): Promise<Answer> {
    const value = this.#next++;
    const a = await this.send(
      'PUT',
      `${base}/api/session/attributes/${this.attribute}`,
      String(value),
    );
    this.#record('set', a, value);
    return a;
  }

  /** Reads the session without changing it: `GET /api/session/attributes`. */
  async read(base: string): Promise<Answer> {
    const a = await this.send('GET', `${base}/api/session/attributes`);
    this.#record('read', a);
    return a;
  }
}
