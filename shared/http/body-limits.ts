/**
 * What the hub reads of a request body it will not use, for every service: a body over its limit, and the rest of
 * any body still arriving once the answer has gone (a 413, a 405 or 415 refused before the body is read).
 *
 * A client that sends the whole body before it reads the answer (fetch / undici, Python's requests, the replay's
 * own client) sees a broken pipe instead of the answer if the connection is closed under its upload. Express's body
 * parser avoided that by reading every oversized body to its end before answering — however large (a 300 MB upload
 * to the MPI's 50 MB transaction endpoint was read for 23 s before its 413) — and Node's server reads the rest of a
 * body nobody read after any answer, just as unbounded. Now an oversized body is refused as soon as it is known to be
 * one (its `Content-Length`, or once its bytes pass the limit), and after any answer the rest of a body is read and
 * discarded up to `DRAIN_BYTES` and `DRAIN_MS`: an oversized upload within that reaches its end, the client reads the
 * answer and the connection stays open; past it the connection is closed (a client that reads while it sends, as
 * curl and Node's `http` do, has its answer by then).
 */
import type { Request, Response } from 'express';

/** How much of a body is read and discarded after its answer before the connection is closed. */
export const DRAIN_BYTES = 64 * 1024 * 1024;
/** How long the rest of a body is read after its answer before the connection is closed. */
export const DRAIN_MS = 30_000;

/** Whether the request announces a body (a length above 0, or chunks). */
export function hasBody(req: Request): boolean {
  return Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
}

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/**
 * A body limit as the settings write it (`1mb`, `512kb`, `256 KB`, `1048576`), in bytes, as Express's body parser
 * reads it (1 kb = 1,024 bytes); undefined for anything else (the parser then sets no limit either).
 */
export function bodyLimitBytes(limit: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(limit);
  if (!m?.[1]) return undefined;
  return Math.floor(Number(m[1]) * (UNITS[(m[2] ?? 'b').toLowerCase()] ?? 1));
}

/**
 * The number of bytes as sent past which a body is certainly over `limit` bytes once decoded: the limit itself for
 * a body sent as is; for a compressed one (`Content-Encoding`, whose limit applies after inflating) a little more —
 * deflate, gzip and brotli grow incompressible data by well under 1/64 plus their headers.
 */
export function sentBytesCeiling(req: Request, limit: number): number {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  return encoding === 'identity' ? limit : limit + Math.ceil(limit / 64) + 65_536;
}

/** Whether the body's own `Content-Length` says it is over `limit`: refused before a byte of it is read. */
export function announcedOverLimit(req: Request, limit: number): boolean {
  const length = Number(req.headers['content-length']);
  return Number.isFinite(length) && length > sentBytesCeiling(req, limit);
}

/**
 * Bounds what is read of the request's body after its answer: when the answer is complete while the body is still
 * arriving, the rest is read and discarded (the client that reads only after sending then gets the answer, and the
 * connection stays usable) up to `bytes` more or for `ms`, then the connection is closed. Asked of every request with
 * a body (service-app.ts); costs a listener, and work only for a body the answer left unread.
 */
export function boundUnreadBody(req: Request, res: Response, bytes = DRAIN_BYTES, ms = DRAIN_MS): void {
  res.once('prefinish', () => {
    if (req.complete) return;
    const socket = req.socket;
    let read = 0;
    const done = (): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', done);
      socket.off('close', done);
    };
    const cut = (): void => {
      done();
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      read += chunk.length;
      if (read > bytes) cut();
    };
    const timer = setTimeout(cut, ms);
    timer.unref();
    // Reading it here (before Node's server would discard it unread and uncounted) is what counts the bytes.
    req.on('data', onData);
    req.once('end', done);
    socket.once('close', done);
  });
}
