import { renderHtml } from './html.js';
import { printable, renderPdf } from './pdf.js';
import type { PrintableDocument } from './document.js';

const doc: PrintableDocument = {
  title: 'A <plan> & more',
  facts: [{ label: 'Version', value: '3' }],
  sections: [{ heading: 'Activities', table: { columns: ['What', 'Status'], rows: [['Visit', 'done']] } }],
  footer: 'Printed now',
};

describe('printable documents', () => {
  it('writes a PDF', async () => {
    const pdf = await renderPdf(doc, new Date('2026-12-01T00:00:00Z'));
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.subarray(-6).toString('latin1')).toContain('%%EOF');
  });

  it('writes HTML with every value escaped', () => {
    const html = renderHtml(doc);
    expect(html).toContain('<title>A &lt;plan&gt; &amp; more</title>');
    expect(html).toContain('<td>Visit</td>');
    expect(html).not.toContain('<plan>');
  });

  it('keeps only text the standard PDF fonts can show', () => {
    expect(printable('Café – “ok” 😀\u0007')).toBe('Café – “ok” ? ');
  });
});
