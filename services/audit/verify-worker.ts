/**
 * A log verification thread (log-verify.ts): on Redis connections of its own
 * (ioredis for the log's tiles, a raw-reply one for the audit stream), it reads
 * the runs of tiles it is given, hashes their stream entries and answers with
 * each tile's summary (`summariseTiles`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { KeySpace } from '../../shared/redis/connection.js';
import { RawReplyConnection } from '../../shared/redis/raw-replies.js';
import { AuditKeys } from './keys.js';
import { summariseTiles, toWire, type VerifyReply, type VerifyRequest, type VerifyWorkerData } from './log-verify.js';

const port = parentPort;
if (port) {
  const { connection, prefix } = workerData as VerifyWorkerData;
  const redis = new Redis({ ...connection, maxRetriesPerRequest: 1 });
  const stream = RawReplyConnection.connect(connection);
  // Connecting failed: every request answers with why.
  stream.catch(() => {});
  const keys = new AuditKeys(new KeySpace(prefix));
  const reply = (message: VerifyReply) => port.postMessage(message);
  port.on('message', (request: VerifyRequest) => {
    stream.then((raw) => summariseTiles(redis, raw, keys, request)).then(
      (summaries) => reply({ id: request.id, summaries: summaries.map(toWire) }),
      (err: unknown) => reply({ id: request.id, error: err instanceof Error ? err.message : String(err) }),
    );
  });
}
