/**
 * `GET /fhir/CarePlan/:id/$render?format=pdf|html` — the latest version of a
 * plan as a printable document (shared/render): which version, its date, the
 * author, and the person's Named Person / Lead Professional with their contact
 * details from the directory. Read through the one access check like any read.
 */
import type { Request, Response } from 'express';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respondDocument } from '../../../shared/fhir/express.js';
import { badRequest } from '../../../shared/fhir/outcome.js';
import { PRINT_FORMATS, type PrintFormat } from '../../../shared/render/document.js';
import { renderDocument } from '../../../shared/render/render.js';
import type { PlansContext } from '../context.js';
import { renderCriteria } from '../domain/criteria.js';
import { planDocument } from '../domain/printable.js';
import { namedProfessionalsOf } from '../subjects.js';
import { callerOf, entityOf, pathParam, permitted } from './common.js';

/** The `format` parameter (default pdf); 400 for anything else. */
export function printFormatOf(req: Request): PrintFormat {
  const given = req.query.format ?? req.query._format;
  if (given === undefined) return 'pdf';
  if (typeof given !== 'string' || !(PRINT_FORMATS as readonly string[]).includes(given)) {
    throw badRequest(`format must be one of ${PRINT_FORMATS.join(', ')}`, 'format');
  }
  return given as PrintFormat;
}

export function renderPlan(ctx: PlansContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = pathParam(req, 'id');
    describeExchange(res, { subtype: '$render', action: 'R', entities: [entityOf('CarePlan', id)] });
    const format = printFormatOf(req);
    const caller = await callerOf(res, ctx);
    const { value: plan, record, decision } = permitted(res, caller, await ctx.store.read(caller, 'CarePlan', id));
    const [named, author] = await Promise.all([namedProfessionalsOf(ctx.mpi, ctx.directory, record.personId), ctx.directory.organization(record.authorAgency)]);
    const now = new Date();
    const document = planDocument(plan, { author: author?.name ? `${author.name} (${record.authorAgency})` : record.authorAgency, contacts: named.contacts, printedAt: now });
    const rendered = await renderDocument(document, format, now);
    await respondDocument(req, res, 200, rendered.body, rendered.contentType, {
      criteria: renderCriteria(decision),
      headers: {
        ETag: `W/"${plan.meta?.versionId ?? ''}"`,
        'Content-Location': `${ctx.baseUrl}/CarePlan/${id}/_history/${plan.meta?.versionId ?? ''}`,
        'Content-Disposition': `inline; filename="careplan-${id}-v${plan.meta?.versionId ?? ''}.${format}"`,
      },
    });
  };
}
