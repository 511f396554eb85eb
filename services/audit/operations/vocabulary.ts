/**
 * GET /log/vocabulary[?version=<n>]   the audit vocabulary's document (JSON, canonical): the fragments a
 *                                     layout 4 entry's event names as `{"#":n}` — what an auditor expands
 *                                     the entries with (README, *The stored form*); the latest by default
 */
import type { Request, Response } from 'express';
import { badRequest, notFound } from '../../../shared/fhir/outcome.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respondText } from '../../../shared/fhir/express.js';
import { AUDIT_VOCABULARY_VERSION, vocabularyDocument } from '../../../shared/audit/vocabulary.js';
import { singleParam } from './params.js';

export function auditVocabulary() {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$log-vocabulary', action: 'R', dataCategory: 'audit' });
    const text = singleParam(req.query.version, 'version');
    if (text !== undefined && !/^[1-9]\d{0,5}$/.test(text)) throw badRequest(`version must be a vocabulary version: a whole number from 1 ("${text.slice(0, 40)}" is not)`, 'version');
    const version = text === undefined ? AUDIT_VOCABULARY_VERSION : Number(text);
    if (version > AUDIT_VOCABULARY_VERSION) throw notFound(`No audit vocabulary version ${version}: the latest is ${AUDIT_VOCABULARY_VERSION}`);
    await respondText(req, res, 200, 'application/json', vocabularyDocument(version), { headers: { 'X-Vocabulary-Version': String(version) } });
  };
}
