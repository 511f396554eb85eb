/** Listening and closing an Express app, with connection draining on close. */
import { IncomingMessage, STATUS_CODES, ServerResponse, createServer as createHttpServer, type Server } from 'node:http';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Express } from 'express';
import { portSettings, type ServiceName } from '../config.js';
import { outcome } from '../fhir/outcome.js';
import { allowedMethods } from '../http/methods.js';

export interface Listening {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * How long a kept-alive connection may sit idle before the server closes it. Node's default (5 s) lies just above
 * fetch's (undici's) own reuse limit — the server's `Keep-Alive: timeout` less a second — so a client whose timers run
 * a second late (a busy machine) reuses a socket the server is closing, and its request fails with ECONNRESET or
 * EPIPE instead of an answer (the likely cause, not proven, of a reset seen once in a scenario replay under load). Idle gaps of 4-5 s are common (a sender waiting
 * for its deliveries); gaps of half a minute much rarer. Below Node's `headersTimeout` (60 s), as Node requires.
 */
export const KEEP_ALIVE_IDLE_MS = 30_000;

export function listen(app: Express, port: number, host: string): Promise<Listening> {
  return new Promise((resolve, reject) => {
    // A missing Host and an Expect other than 100-continue reach the app, whose shell refuses them as
    // audited OperationOutcomes (shared/http/header-rules.ts); Node would answer both itself, with no body.
    const server = createHttpServer({ requireHostHeader: false, ...expressMessages(app) }, app);
    server.keepAliveTimeout = KEEP_ALIVE_IDLE_MS;
    server.on('checkExpectation', app);
    server.listen(port, host);
    server.on('clientError', answerUnparsableRequest);
    server.on('connect', (req: IncomingMessage, socket: Socket) => refuseConnect(app, req, socket));
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      const actual = (server.address() as AddressInfo).port;
      resolve({
        server,
        port: actual,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Idle keep-alive sockets would otherwise hold close() open.
            server.closeIdleConnections();
            setTimeout(() => server.closeAllConnections(), 2000).unref();
          }),
      });
    });
  });
}

/**
 * Node's request and response classes for `app`: each request and response is made with the prototype
 * Express gives it (`app.request`, `app.response`), so Express's own `Object.setPrototypeOf` on every
 * request (express/lib/application.js `handle`) finds it already set and changes nothing. Why: an object
 * whose prototype is changed after it was made outlives V8's young-generation collections — with Express
 * setting them, a bare Express app kept ~30 % of what each request allocated alive across a scavenge (each
 * request's whole req/res graph copied, then promoted: long scavenges, a growing old generation, major
 * collections) (session 19, `--trace-gc-nvp`).
 *
 * The classes are subclasses of Node's (`class extends`), and `app.request` / `app.response` become their
 * prototypes (same chain: Express's request/response methods, then Node's; same own `app` property). A
 * subclass, not a function constructing Node's class with another `new.target` (session 19's first form):
 * V8 sizes an object's in-object fields from its constructor chain, and a plain function counts none, so
 * every field of a request and a response went to a separately grown backing store — +5 kB allocated per
 * request over not fixing the prototype at all, and ~6 % of it still surviving scavenges behind a mounted
 * router. Session 20, bare Express + a mounted router, sequential requests: 32.3 kB allocated and 29 %
 * surviving a scavenge per request with Express setting the prototypes; 37.5 kB / 6.3 % with that first form;
 * 17.2 kB / 1.0 % with subclasses. Same behaviour.
 */
function expressMessages(app: Express): { IncomingMessage: typeof IncomingMessage; ServerResponse: typeof ServerResponse } {
  const Request = bornWith(IncomingMessage, app.request);
  const Response = bornWith(ServerResponse, app.response);
  app.request = Request.prototype as Express['request'];
  app.response = Response.prototype as Express['response'];
  return { IncomingMessage: Request, ServerResponse: Response };
}

/**
 * A subclass of `base` whose prototype stands in for `prototype` (which must inherit from `base.prototype`):
 * it inherits from what `prototype` inherits from and carries `prototype`'s own properties.
 */
function bornWith<T extends new (...args: never[]) => object>(base: T, prototype: object): T {
  const Born = class extends (base as unknown as new (...args: unknown[]) => object) {};
  Object.setPrototypeOf(Born.prototype, Object.getPrototypeOf(prototype) as object | null);
  Object.defineProperties(Born.prototype, Object.getOwnPropertyDescriptors(prototype));
  return Born as unknown as T;
}

/**
 * A request Node's HTTP parser refuses before Express sees it (headers over 16 KB, a malformed
 * request line or header) is answered as every refusal is — an OperationOutcome in FHIR JSON —
 * instead of Node's bare status line, which a FHIR client cannot read. It never reached the hub,
 * so there is no exchange to audit (RFC 9110: 431 for headers too large, 400 otherwise).
 */
function answerUnparsableRequest(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const text =
    status === 431
      ? 'The request headers (URL included) are larger than the server takes (16 KB): send search parameters form-encoded to POST [type]/_search'
      : status === 408
        ? 'The request was not received in time'
        : 'The request is not well-formed HTTP/1.1';
  const body = JSON.stringify(outcome(status === 408 ? 'timeout' : status === 431 ? 'too-long' : 'invalid', text));
  endWithOutcome(socket, status, body);
}

/**
 * `CONNECT` (a proxy tunnel) is no FHIR interaction, and Node hands it to the `connect` event instead of the app: with
 * no listener the connection was dropped without an answer (until 2026-12-07). It is answered as every method no path
 * takes, a 405 OperationOutcome, and the connection closed (the client asked for a tunnel; there is none). Like the
 * parser's refusals it never reaches the app, so there is no exchange to audit.
 */
function refuseConnect(app: Express, req: IncomingMessage, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  // Its target is usually `host:port`, no path of ours; when it is a path, `Allow` names what that path takes.
  const path = req.url?.startsWith('/') ? req.url.split('?')[0] ?? '/' : undefined;
  const allowed = path === undefined ? [] : allowedMethods(app, path);
  const allow = allowed.length > 0 ? `Allow: ${allowed.join(', ')}\r\n` : '';
  const body = JSON.stringify(outcome('not-supported', 'CONNECT is not served: this is a FHIR server, not a proxy (GET /fhir/metadata lists what it serves)'));
  endWithOutcome(socket, 405, body, allow);
}

/** Answers on the bare socket (no app, no response object) with `body`, an OperationOutcome, and closes the connection. */
function endWithOutcome(socket: Socket, status: number, body: string, headers = ''): void {
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${headers}Content-Type: application/fhir+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * `n` distinct free local ports: all are held open at once before any is
 * released, so the same port is never handed out twice.
 */
export async function reserveFreePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<NetServer>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** A distinct free local port for each service, as the settings that put it there (`portSettings`). */
export async function freePortSettings(services: readonly ServiceName[]): Promise<Record<string, string>> {
  const ports = await reserveFreePorts(services.length);
  return portSettings(Object.fromEntries(services.map((service, i) => [service, ports[i]])));
}
