/** One entry point for printing a document in a chosen format (pdf.ts, html.ts). */
import { CONTENT_TYPE_OF, type PrintableDocument, type PrintFormat } from './document.js';
import { renderHtml } from './html.js';
import { renderPdf } from './pdf.js';

export interface RenderedDocument {
  readonly body: Buffer | string;
  readonly contentType: string;
}

export async function renderDocument(document: PrintableDocument, format: PrintFormat, now: Date = new Date()): Promise<RenderedDocument> {
  const body = format === 'pdf' ? await renderPdf(document, now) : renderHtml(document);
  return { body, contentType: CONTENT_TYPE_OF[format] };
}
