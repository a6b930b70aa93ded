/**
 * Bench child (a): the smallest uWebSockets.js server — every GET answers the same static
 * JSON body of the requested size. The ceiling the real server is measured against.
 *   node dist/bench/serving-hello.js BODY_BYTES
 * Prints {"event":"listening","port":N} once listening; exits on SIGTERM.
 */
import { loadUws } from '../src/serving/uws.js';

const bytes = Number(process.argv[2] ?? 500);
const body = `{"hello":"${'x'.repeat(Math.max(0, bytes - 12))}"}`;
const uws = loadUws();
const app = uws.App().get('/*', (res) => {
  res.writeStatus('200 OK').writeHeader('content-type', 'application/json').end(body);
});
app.listen('127.0.0.1', 0, (token) => {
  if (!token) {
    process.stderr.write('hello server: cannot listen\n');
    process.exit(1);
  }
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', port: uws.us_socket_local_port(token), bodyBytes: body.length })}\n`,
  );
  process.on('SIGTERM', () => {
    uws.us_listen_socket_close(token);
    process.exit(0);
  });
});
