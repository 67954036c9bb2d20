import http from 'node:http';
import type net from 'node:net';

export interface Answer {
  status: number;
  body: string;
  contentType?: string;
  /** Elasticsearch's x-elastic-product header, passed on: its client refuses a 2xx answer without it. */
  product?: string;
  /** Send the headers (with the whole body's length) and only this many bytes of it, then close the connection. */
  cutAt?: number;
}

/** Decides what the client gets for one request; `forward()` asks the real engine. */
export type Fault = (req: { method: string; path: string; body: string }, forward: () => Promise<Answer>) => Promise<Answer | 'hang'> | Answer | 'hang';

/**
 * An HTTP proxy in front of the real engine that lets a test change what the engine answers:
 * malformed or partial bulk answers, per-item errors, 413, or no answer at all. Requests the
 * fault does not touch reach the real server unchanged.
 */
export class HttpFaultProxy {
  private server?: http.Server;
  private sockets = new Set<net.Socket>();
  port = 0;
  /** Applied to every request whose path matches `match`; other requests pass through. */
  fault?: Fault;
  match: RegExp = /\/_bulk/;
  /** Requests that reached the fault, for assertions. */
  hits = 0;

  constructor(private readonly target: string) {}

  url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private forward(method: string, path: string, headers: http.IncomingHttpHeaders, body: string): Promise<Answer> {
    const t = new URL(this.target);
    // Plain bodies, so that a fault can read and rewrite them.
    const { 'accept-encoding': _encoding, ...plain } = headers;
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: t.hostname, port: t.port, method, path, headers: { ...plain, host: `${t.hostname}:${t.port}` } },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (data += c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 502,
              body: data,
              contentType: String(res.headers['content-type'] ?? ''),
              product: res.headers['x-elastic-product'] as string | undefined,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c) => (body += c));
      req.on('end', async () => {
        const path = req.url ?? '/';
        const forward = () => this.forward(req.method ?? 'GET', path, req.headers, body);
        try {
          let answer: Answer | 'hang';
          if (this.fault && this.match.test(path)) {
            this.hits++;
            answer = await this.fault({ method: req.method ?? 'GET', path, body }, forward);
          } else {
            answer = await forward();
          }
          if (answer === 'hang') return; // keep the socket open, answer nothing
          const bytes = Buffer.from(answer.body);
          res.writeHead(answer.status, {
            'content-type': answer.contentType || 'application/json',
            'content-length': bytes.length,
            ...(answer.product ? { 'x-elastic-product': answer.product } : {}),
          });
          if (answer.cutAt !== undefined) {
            res.write(bytes.subarray(0, answer.cutAt));
            // Flushed first, so that the client reads a body that stops short, not no answer.
            setTimeout(() => res.socket?.destroy(), 20);
            return;
          }
          res.end(bytes);
        } catch (err) {
          res.writeHead(502);
          res.end(String(err));
        }
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
