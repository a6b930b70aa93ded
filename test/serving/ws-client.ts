// A WebSocket test client with a queue of received JSON messages.
import WebSocket from 'ws';

/** An open client with a queue of received JSON messages. */
export async function connect(url: string, headers?: Record<string, string>) {
  const ws = new WebSocket(url, { headers });
  const inbox: unknown[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data) => {
    inbox.push(JSON.parse(data.toString('utf8')));
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve, reject) => {
    ws.on('open', resolve);
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  const next = async (timeoutMs = 3000): Promise<unknown> => {
    const deadline = Date.now() + timeoutMs;
    while (inbox.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no message');
      await new Promise<void>((r) => {
        // Cleared when a message comes: a pending timer would keep the test process alive.
        const timer = setTimeout(r, left);
        waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
    return inbox.shift();
  };
  return { ws, next, inbox, send: (v: unknown) => ws.send(typeof v === 'string' ? v : JSON.stringify(v)) };
}
