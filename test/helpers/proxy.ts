import net from 'node:net';

/**
 * A TCP proxy in front of a real server, so a test can cut the network in the middle of a
 * run and restore it. The server behind it is real; only the wire is interrupted.
 */
export class Proxy {
  private server?: net.Server;
  private sockets = new Set<net.Socket>();
  private pairs: Array<[net.Socket, net.Socket]> = [];
  private frozen = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  static forUrl(url: string): Proxy {
    const u = new URL(url);
    return new Proxy({ host: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : u.protocol.startsWith('postgres') ? 5432 : 80)) });
  }

  /** The same URL, pointing at the proxy. */
  url(original: string): string {
    const u = new URL(original);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString().replace(/\/$/, '');
  }

  async start(): Promise<void> {
    this.server = net.createServer((client) => {
      if (this.frozen) {
        // A server that stopped answering: the connection opens, nothing ever comes back.
        this.sockets.add(client);
        client.on('error', () => undefined);
        return;
      }
      const upstream = net.connect(this.target);
      this.pairs.push([client, upstream]);
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** Drops every open connection and refuses new ones. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.pairs = [];
    this.frozen = false;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Keeps every connection open but forwards nothing more, either way: a frozen server or network. */
  freeze(): void {
    this.frozen = true;
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  async restore(): Promise<void> {
    if (!this.server) await this.start();
  }

  async stop(): Promise<void> {
    await this.cut();
  }
}
