/**
 * Loads the matching model (configuration, INFOSHARE_MATCH_MODEL_FILE): the
 * default is the model estimated from data and committed as
 * `default-model.json`; a partnership tunes thresholds by pointing at its own.
 */
import fs from 'node:fs';
import { assertValidModel, type MatchModel } from './model.js';

export function loadMatchModel(file: string): MatchModel {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`Cannot read the matching model ${file}: ${(err as Error).message}`);
  }
  assertValidModel(parsed);
  return parsed;
}
