/**
 * Writes a PrintableDocument (document.ts) as PDF with pdfkit: A4, the
 * standard Helvetica faces (nothing to embed), text wrapped to the page,
 * tables as aligned columns, the footer on every page. Generic: plans print
 * their latest version with it, the audit service its evidence report.
 */
import PDFDocument from 'pdfkit';
import type { PrintableDocument, PrintableFact, PrintableTable } from './document.js';

const MARGIN = 50;
const BODY_SIZE = 10;

/** The document as PDF bytes. */
export function renderPdf(document: PrintableDocument, now: Date = new Date()): Promise<Buffer> {
  const pdf = new PDFDocument({
    size: 'A4',
    margins: { top: MARGIN, bottom: MARGIN + 20, left: MARGIN, right: MARGIN },
    bufferPages: true,
    info: { Title: document.title, Creator: 'infoshare hub', CreationDate: now },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pdf.on('data', (chunk: Buffer) => chunks.push(chunk));
    pdf.on('end', () => resolve(Buffer.concat(chunks)));
    pdf.on('error', reject);
  });

  pdf.font('Helvetica-Bold').fontSize(18).text(printable(document.title));
  if (document.subtitle) pdf.font('Helvetica').fontSize(12).fillColor('#444444').text(printable(document.subtitle)).fillColor('black');
  pdf.moveDown(0.5);
  writeFacts(pdf, document.facts);
  for (const section of document.sections) {
    pdf.moveDown(0.8);
    pdf.font('Helvetica-Bold').fontSize(13).text(printable(section.heading));
    pdf.moveDown(0.2);
    for (const paragraph of section.paragraphs ?? []) pdf.font('Helvetica').fontSize(BODY_SIZE).text(printable(paragraph)).moveDown(0.3);
    if (section.facts) writeFacts(pdf, section.facts);
    if (section.table) writeTable(pdf, section.table);
  }
  writeFooters(pdf, document.footer);
  pdf.end();
  return done;
}

function writeFacts(pdf: PDFKit.PDFDocument, facts: readonly PrintableFact[]): void {
  for (const fact of facts) {
    pdf.font('Helvetica-Bold').fontSize(BODY_SIZE).text(`${printable(fact.label)}: `, { continued: true });
    pdf.font('Helvetica').text(printable(fact.value));
  }
}

function writeTable(pdf: PDFKit.PDFDocument, table: PrintableTable): void {
  const width = pdf.page.width - 2 * MARGIN;
  const columnWidth = width / Math.max(1, table.columns.length);
  const row = (cells: readonly string[], bold: boolean) => {
    pdf.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(BODY_SIZE - 1);
    const heights = cells.map((cell) => pdf.heightOfString(printable(cell), { width: columnWidth - 6 }));
    const height = Math.max(...heights, pdf.currentLineHeight()) + 4;
    if (pdf.y + height > pdf.page.height - MARGIN - 20) pdf.addPage();
    const top = pdf.y;
    cells.forEach((cell, i) => pdf.text(printable(cell), MARGIN + i * columnWidth, top, { width: columnWidth - 6 }));
    pdf.x = MARGIN;
    pdf.y = top + height;
  };
  row(table.columns, true);
  pdf.moveTo(MARGIN, pdf.y - 2).lineTo(MARGIN + width, pdf.y - 2).strokeColor('#999999').stroke();
  for (const cells of table.rows) row(cells, false);
  pdf.x = MARGIN;
}

function writeFooters(pdf: PDFKit.PDFDocument, footer: string | undefined): void {
  const range = pdf.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i += 1) {
    pdf.switchToPage(i);
    const text = `${footer ? `${printable(footer)} — ` : ''}page ${i + 1} of ${range.count}`;
    // Below the bottom margin: lift it while writing so pdfkit does not start a new page.
    const bottom = pdf.page.margins.bottom;
    pdf.page.margins.bottom = 0;
    pdf.font('Helvetica').fontSize(8).fillColor('#666666').text(text, MARGIN, pdf.page.height - MARGIN, { width: pdf.page.width - 2 * MARGIN, align: 'center', lineBreak: false });
    pdf.page.margins.bottom = bottom;
    pdf.fillColor('black');
  }
}

/**
 * Text the standard PDF fonts can show (WinAnsi): anything else — emoji,
 * scripts beyond Latin-1 — becomes `?` rather than garbled glyphs; control
 * characters become spaces.
 */
export function printable(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code === 0x0a) out += ch;
    else if (code < 0x20 || code === 0x7f) out += ' ';
    else out += SHOWABLE.test(ch) ? ch : '?';
  }
  return out;
}

/** Printable ASCII, Latin-1 and the WinAnsi punctuation people type (dashes, curly quotes, bullet, euro). */
const SHOWABLE = /^[\u0020-\u007e\u00a0-\u00ff\u2013\u2014\u2018\u2019\u201c\u201d\u2022\u20ac]$/u;
