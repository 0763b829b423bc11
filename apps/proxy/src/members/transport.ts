import type { Duplex, Readable } from 'node:stream';

import type { FailurePhase } from '../balancer/retry.js';

/** One request as the proxy hands it to a member's transport. */
export interface ForwardRequest {
  readonly method: string;
  /** Origin-form target (`/path?query`). */
  readonly path: string;
  /** Headers to send, flat `[name, value, …]`, already rewritten. */
  readonly headers: string[];
  /** The body: none, fully buffered, or a stream (read only when the member is reached). */
  readonly body: Buffer | Readable | null;
  /** The client's address and port, the proxy's local address and port (AJP carries them). */
  readonly clientIp: string;
  readonly clientPort: number;
  readonly localIp: string;
  readonly localPort: number;
  /** The Host the client sent, for AJP's server name. */
  readonly host: string | undefined;
}

/**
 * Something a transport noticed about its member on an otherwise complete answer:
 * `auth-refused` = the member refused the request's credentials (AJP: 403 and the connection
 * closed, which is how Tomcat answers a wrong or missing `secret`).
 */
export type MemberNotice = 'auth-refused';

/** Receives one response from a member. Return `false` from onResponse/onData to pause. */
export interface ForwardHandler {
  /** Status line and headers (flat list); `resume` restarts a paused body. */
  onResponse(status: number, statusText: string, headers: string[], resume: () => void): boolean;
  /** A body chunk. */
  onData(chunk: Buffer): boolean;
  /**
   * The body ended. `notice`, when set, says the answer came from the member's connector rather
   * than its application: `auth-refused` is Tomcat's 403 for a wrong or missing AJP secret.
   */
  onEnd(notice?: MemberNotice): void;
  /** The attempt failed; `phase` says how far it got (decides retries and passive detection). */
  onError(err: Error, phase: FailurePhase): void;
  /** The transport noticed, during a failed answer, something an operator must fix. */
  onNotice?(notice: MemberNotice): void;
  /** An informational response before the final one (103 Early Hints), to relay to the client. */
  onInformational?(status: number, statusText: string, headers: string[]): void;
}

/** Receives the outcome of a WebSocket (Upgrade) handshake through a member. */
export interface UpgradeHandler {
  /** The member switched protocols: relay `headers` and splice `socket` with the client's. */
  onUpgrade(status: number, headers: string[], socket: Duplex): void;
  /** The member answered without upgrading: relay it as a plain response. */
  onResponse(status: number, statusText: string, headers: string[], resume: () => void): boolean;
  onData(chunk: Buffer): boolean;
  onEnd(): void;
  onError(err: Error, phase: FailurePhase): void;
}

/**
 * A member's transport: a keep-alive connection pool speaking HTTP/1.1 or AJP13. Small on
 * purpose, so another protocol plugs in without touching the proxy.
 */
export interface MemberTransport {
  /** `http` or `ajp`. */
  readonly protocol: 'http' | 'ajp';
  /** Sends one request; returns a function that aborts it (and closes its connection). */
  forward(req: ForwardRequest, handler: ForwardHandler): (reason?: Error) => void;
  /** Sends a WebSocket handshake, when the protocol can carry one (AJP cannot). */
  upgrade?(req: ForwardRequest, handler: UpgradeHandler): (reason?: Error) => void;
  /** Closes idle connections and lets requests in flight finish. */
  close(): Promise<void>;
  /** Closes everything now. */
  destroy(): Promise<void>;
}
