import { pino, type Logger } from 'pino';

/**
 * The proxy's pino logger. Request logs carry only what is safe: method, path without query or
 * path parameters, status, sizes, timings, member and route names. Cookie and session id values
 * are never put in a log record; as a second line of defence, fields that could hold them are
 * redacted.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: {
        paths: ['cookie', 'headers.cookie', 'headers["set-cookie"]', 'sessionId', 'url'],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ sync: false }),
  );
}

/** The path of a request target without `?query` and without `;parameters` (which carry session ids). */
export function safePath(target: string): string {
  let end = target.length;
  const q = target.indexOf('?');
  if (q !== -1) end = q;
  const s = target.indexOf(';');
  if (s !== -1 && s < end) end = s;
  return end === target.length ? target : target.slice(0, end);
}
