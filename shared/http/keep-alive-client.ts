/**
 * POSTs over kept-alive connections (`node:http` / `node:https` Agents, which
 * pool sockets per host and port — one pool per endpoint), for a service that
 * calls the same few endpoints thousands of times: the hub delivering alerts.
 * Global `fetch` sets up more per call (a Request, Headers, a stream, an
 * AbortSignal) and measured several times the CPU per call under load.
 *
 * Redirects are never followed (a redirect is an answer like any other), the
 * whole call — connection, request and answer — is cut off after `timeoutMs`
 * (rejects with an Error named `TimeoutError`), and an answer longer than
 * `maxAnswerBytes` is not read (`text` undefined, the socket discarded).
 */
import http from 'node:http';
import https from 'node:https';

export interface KeepAlivePost {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  /** Answers longer than this are not read. */
  readonly maxAnswerBytes: number;
}

export interface KeepAliveAnswer {
  readonly status: number;
  /** The answer's body, or undefined when it was longer than `maxAnswerBytes`. */
  readonly text: string | undefined;
}

export interface KeepAliveClientOptions {
  /** Connections per endpoint at most (calls beyond wait for one). Default: as many as there are calls. */
  readonly maxSocketsPerEndpoint?: number;
}

export class KeepAliveClient {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(options: KeepAliveClientOptions = {}) {
    const agentOptions = { keepAlive: true, ...(options.maxSocketsPerEndpoint ? { maxSockets: options.maxSocketsPerEndpoint } : {}) };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
  }

  post(call: KeepAlivePost): Promise<KeepAliveAnswer> {
    const target = new URL(call.url);
    const secure = target.protocol === 'https:';
    const send = secure ? https.request : http.request;
    return new Promise<KeepAliveAnswer>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, answer?: KeepAliveAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(answer!);
      };
      const req = send(
        target,
        {
          method: 'POST',
          agent: secure ? this.httpsAgent : this.httpAgent,
          headers: { ...call.headers, 'Content-Length': String(Buffer.byteLength(call.body)) },
        },
        (res) => {
          const declared = Number(res.headers['content-length'] ?? 0);
          if (declared > call.maxAnswerBytes) {
            res.destroy();
            finish(undefined, { status: res.statusCode ?? 0, text: undefined });
            return;
          }
          const chunks: Buffer[] = [];
          let length = 0;
          res.on('data', (chunk: Buffer) => {
            length += chunk.length;
            if (length > call.maxAnswerBytes) {
              res.destroy();
              finish(undefined, { status: res.statusCode ?? 0, text: undefined });
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, text: Buffer.concat(chunks, length).toString('utf8') }));
          res.on('error', (err) => finish(err));
          res.on('aborted', () => finish(new Error('the answer was cut off')));
        },
      );
      const timer = setTimeout(() => {
        const timeout = new Error(`no answer within ${call.timeoutMs} ms`);
        timeout.name = 'TimeoutError';
        finish(timeout);
        req.destroy(timeout);
      }, call.timeoutMs);
      req.on('error', (err) => finish(err));
      req.end(call.body);
    });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
