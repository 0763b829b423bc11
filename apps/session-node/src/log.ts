import { pino, type Logger } from 'pino';

/**
 * The node's pino logger. Records carry member names, counts, codes and timings only: never a
 * session key, id or value. Fields that could hold them are redacted as a second line of defence.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: {
        paths: ['key', 'sessionId', 'session', 'value', 'headers.authorization', 'token'],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ sync: false }),
  );
}
