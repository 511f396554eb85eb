/**
 * One HTTP exchange sent exactly as written: raw `node:http`, so paths like `..` and odd headers go
 * as a hostile client sends them (fetch and supertest would normalise the path and refuse some headers).
 */
import http from 'node:http';

export interface RawAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
}

/** Sends one request; an answer not complete within `timeoutMs` is an error (a hang is a failure, not a wait). */
export function sendRaw(url: string, method: string, headers: Record<string, string>, body?: string | Buffer, timeoutMs = 20_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    // The path as written (`new URL` would resolve `..`).
    const path = url.slice(target.origin.length);
    const sized = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = http.request({ hostname: target.hostname, port: target.port, path, method, agent: false, headers: { ...sized, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms: ${method} ${url.slice(0, 200)}`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}
