// A TCP proxy in front of a real server, so a test can make the server "go away" (drop every
// connection and refuse new ones) and come back on the same port, or lose its answers: requests
// still reach the server (which acts on them) while nothing it sends reaches the client, or (Kafka)
// refuse one type of request.
import net from 'node:net';

export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** While set, the server's bytes are dropped instead of forwarded (see loseAnswers()). */
  private losing = false;
  /** A Kafka request type (API key) whose requests close their connection instead of reaching the broker. */
  private kafkaRefused: number | null = null;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      if (this.kafkaRefused === null) client.pipe(upstream);
      else this.forwardKafkaFrames(client, upstream);
      upstream.on('data', (chunk: Buffer) => {
        if (!this.losing) client.write(chunk);
      });
      upstream.on('end', () => client.end());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** From now on the server still gets every request but the client gets no answer (until stop()). */
  loseAnswers(): void {
    this.losing = true;
  }

  /**
   * Kafka only: on connections opened from now on (read frame by frame from their start), a
   * request of this API key (10: FindCoordinator) closes its connection before the broker sees
   * it, as a broker shutting down does, while every other request passes; null passes everything
   * again.
   */
  refuseKafkaRequests(apiKey: number | null): void {
    this.kafkaRefused = apiKey;
  }

  /** Forwards whole Kafka request frames (int32 size, int16 API key, …), closing at a refused one. */
  private forwardKafkaFrames(client: net.Socket, upstream: net.Socket): void {
    let held: Buffer = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      held = held.length === 0 ? chunk : Buffer.concat([held, chunk]);
      while (held.length >= 6) {
        if (held.readInt16BE(4) === this.kafkaRefused) {
          client.destroy();
          upstream.destroy();
          return;
        }
        const end = 4 + held.readInt32BE(0);
        if (held.length < end) break;
        upstream.write(held.subarray(0, end));
        held = held.subarray(end);
      }
    });
    client.on('end', () => upstream.end());
  }

  /** Drops every connection at once (like a crashed server) and stops listening. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.losing = false;
    this.kafkaRefused = null;
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise((r) => server.close(r));
  }
}
