/**
 * A log verification thread (log-verify.ts): on a raw-reply Redis connection of
 * its own (the log's tiles and the audit stream alike; no ioredis to load: a
 * thread's start is CPU the verification pays), it reads the runs of tiles it is
 * given, hashes their stream entries and answers with each tile's summary
 * (`summariseTiles`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { KeySpace } from '../../shared/redis/connection.js';
import { RawReplyConnection } from '../../shared/redis/raw-replies.js';
import { AuditKeys } from './keys.js';
import { summariseTiles, toWire, type VerifyReply, type VerifyRequest, type VerifyWorkerData } from './log-verify.js';

const port = parentPort;
if (port) {
  const { connection, prefix } = workerData as VerifyWorkerData;
  const stream = RawReplyConnection.connect(connection);
  // Connecting failed: every request answers with why.
  stream.catch(() => {});
  const keys = new AuditKeys(new KeySpace(prefix));
  const reply = (message: VerifyReply) => port.postMessage(message);
  port.on('message', (request: VerifyRequest) => {
    stream.then((raw) => summariseTiles(raw, keys, request)).then(
      (summaries) => reply({ id: request.id, summaries: summaries.map(toWire) }),
      (err: unknown) => reply({ id: request.id, error: err instanceof Error ? err.message : String(err) }),
    );
  });
}
