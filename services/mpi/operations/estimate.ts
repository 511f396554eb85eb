/**
 * `POST /fhir/$estimate-model` — re-estimates the matching model from the records in the index
 * (MI-L5: the matching methodology reviewed on the partnership's own data). A statutory
 * partner (scope `system/Person.estimate`) asks; the answer says which version is now in use,
 * its thresholds and what it expects of itself. An index too small to estimate from is refused
 * with 422 and the model in use stays as it was.
 */
import type { Parameters } from 'fhir/r4.js';
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { causeOf, describeExchange } from '../../../shared/fhir/exchange-context.js';
import type { OperationDeclaration } from '../../../shared/fhir/parameters.js';
import { operationArguments } from '../../../shared/fhir/request-body.js';
import { respond } from '../../../shared/fhir/express.js';
import { unprocessable } from '../../../shared/fhir/outcome.js';
import { EstimationRefused } from '../domain/estimate.js';
import { describeModel, estimatedSummary } from '../domain/model-version.js';
import { actorOf, type MpiContext } from '../context.js';

const ESTIMATE = { name: '$estimate-model', parameters: {} } as const satisfies OperationDeclaration;

export function estimateModel(ctx: MpiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$estimate-model', action: 'U', dataCategory: 'demographics', purpose: 'identity-matching' });
    // It takes no parameters: a body, if sent, is an empty Parameters — anything else is refused, not ignored.
    await operationArguments(req, ESTIMATE, ctx.validation, { bodyOptional: true });
    const auth = authContext(res);
    let version;
    try {
      version = await ctx.estimation.estimate({ trigger: 'on-demand', requestedBy: actorOf(auth), cause: causeOf(req, res) });
    } catch (err) {
      if (err instanceof EstimationRefused) throw unprocessable(err.message);
      throw err;
    }
    await ctx.relay.flushQuietly(causeOf(req, res).requestId);
    const summary = estimatedSummary(version);
    const e = version.report.expected;
    const body: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'version', valueInteger: version.version },
        { name: 'records', valueInteger: version.records },
        { name: 'link-threshold', valueDecimal: version.model.thresholds.upper },
        { name: 'review-threshold', valueDecimal: version.model.thresholds.lower },
        { name: 'link-probability', valueDecimal: version.report.thresholds.linkProbability },
        { name: 'review-probability', valueDecimal: version.report.thresholds.reviewProbability },
        { name: 'expected-precision', valueDecimal: e.precision },
        { name: 'expected-recall', valueDecimal: e.recall },
        { name: 'expected-review-share', valueDecimal: e.reviewShareOfRecords },
        { name: 'labelled-pairs', valueInteger: version.report.labelled.pairs },
        { name: 'description', valueString: describeModel(summary) },
        // The whole account, for tools (the CLI) and the methodology review.
        { name: 'summary', valueString: JSON.stringify(summary) },
        { name: 'report', valueString: JSON.stringify(version.report) },
      ],
    };
    await respond(req, res, 200, body, {
      entities: [{ reference: 'Basic/matching-model', role: 'domain-resource', description: describeModel(summary) }],
      criteria: ['MI-L5'],
    });
  };
}
