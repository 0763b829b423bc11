import { connect } from 'node:net';

/**
 * Sends `request` to 127.0.0.1:`port` and collects the answer until `done(answer)` is true, the
 * server closes, or `timeoutMs` passes (then it rejects). For text protocols in readiness checks
 * and tests: `tcpExchange(port, 'PING\r\n', (s) => s.endsWith('\r\n'))`.
 */
export function tcpExchange(
  port: number,
  request: string | Uint8Array,
  done: (answer: string) => boolean,
  timeoutMs = 5000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host: '127.0.0.1' });
    let answer = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(
        new Error(
          `127.0.0.1:${port}: no complete answer within ${timeoutMs} ms (got ${JSON.stringify(answer)})`,
        ),
      );
    }, timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(answer);
    };
    sock.setEncoding('latin1');
    sock.on('connect', () => sock.write(request));
    sock.on('data', (chunk: string) => {
      answer += chunk;
      if (done(answer)) finish();
    });
    sock.on('end', finish);
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
