/**
 * A log verification thread (log-verify.ts): on its own Redis connection, it
 * reads the runs of tiles it is given, hashes their entries and answers with
 * each tile's summary (`summariseTiles`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { KeySpace } from '../../shared/redis/connection.js';
import { AuditKeys } from './keys.js';
import { summariseTiles, toWire, type VerifyReply, type VerifyRequest, type VerifyWorkerData } from './log-verify.js';

const port = parentPort;
if (port) {
  const { connection, prefix } = workerData as VerifyWorkerData;
  const redis = new Redis({ ...connection, maxRetriesPerRequest: 1 });
  const keys = new AuditKeys(new KeySpace(prefix));
  const reply = (message: VerifyReply) => port.postMessage(message);
  port.on('message', (request: VerifyRequest) => {
    summariseTiles(redis, keys, request).then(
      (summaries) => reply({ id: request.id, summaries: summaries.map(toWire) }),
      (err: unknown) => reply({ id: request.id, error: err instanceof Error ? err.message : String(err) }),
    );
  });
}
