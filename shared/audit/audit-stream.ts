import type { KeySpace } from '../redis/key-space.js';

/**
 * The one audit stream. Its `{audit}` hash tag puts it and the write markers in
 * one Cluster slot (the script touches both). One stream is one master's load;
 * shard it (`{audit:0}`, `{audit:1}`…, a chain per shard) only when measurements
 * show this is the limit — the chain needs one total order per stream.
 * Never trimmed: no MAXLEN, the log is the evidence.
 */
export function auditStreamKey(keys: KeySpace): string {
  return keys.key('audit', 'stream');
}
