/**
 * A minimal keep-alive HTTP client for the benchmark: node:http with a pooled
 * agent, the body as a string. Deliberately thinner than fetch so that the
 * client, which shares the process (and the event loop) with the service under
 * test, takes as little of the measured time as possible.
 */
import http from 'node:http';

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

export class BenchClient {
  private readonly agent: http.Agent;
  private readonly base: URL;

  constructor(
    baseUrl: string,
    private readonly maxSockets: number,
  ) {
    this.base = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  get(path: string, token?: string): Promise<HttpResponse> {
    return this.send('GET', path, undefined, token);
  }

  post(path: string, body: string, token: string, extraHeaders: http.OutgoingHttpHeaders = {}): Promise<HttpResponse> {
    return this.send('POST', path, body, token, extraHeaders);
  }

  close(): void {
    this.agent.destroy();
  }

  private async send(method: string, path: string, body: string | undefined, token: string | undefined, extraHeaders: http.OutgoingHttpHeaders = {}): Promise<HttpResponse> {
    for (let tries = 1; ; tries++) {
      try {
        return await this.sendOnce(method, path, body, token, extraHeaders);
      } catch (err) {
        // A kept-alive connection the server closed as idle just as this request reused it (the race Node's
        // http docs describe): nothing reached the server, so the request is sent again. After a long pause (a
        // bench's drain between phases) every pooled connection may be such a one: the failed one leaves the
        // pool, so the next try takes another or a new one — at most once per pooled connection.
        if (!(err instanceof StaleConnectionError) || tries > this.maxSockets) throw err;
      }
    }
  }

  private sendOnce(method: string, path: string, body: string | undefined, token: string | undefined, extraHeaders: http.OutgoingHttpHeaders): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { accept: 'application/fhir+json', ...extraHeaders };
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) {
        headers['content-type'] = 'application/fhir+json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = http.request(
        { agent: this.agent, host: this.base.hostname, port: this.base.port, method, path, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => reject(req.reusedSocket && err.code === 'ECONNRESET' ? new StaleConnectionError(err) : err));
      req.end(body);
    });
  }
}

/** A request reset on a reused kept-alive connection before any answer (the server had closed it as idle). */
class StaleConnectionError extends Error {
  constructor(cause: Error) {
    super(`connection reset on a reused keep-alive socket: ${cause.message}`, { cause });
    this.name = 'StaleConnectionError';
  }
}
