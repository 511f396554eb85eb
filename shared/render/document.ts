/**
 * A printable document as data: what the PDF and HTML writers (pdf.ts,
 * html.ts) lay out. A service builds one from its own records (a plan's latest
 * version, a chronology, an evidence report) and picks the format; neither
 * writer knows what the document is about.
 */

/** One labelled line under the title: version, date, author, contact… */
export interface PrintableFact {
  readonly label: string;
  readonly value: string;
}

/** Rows under column headings; every row has one cell per column. */
export interface PrintableTable {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export interface PrintableSection {
  readonly heading: string;
  readonly paragraphs?: readonly string[];
  /** Label/value lines (e.g. one activity's status and period). */
  readonly facts?: readonly PrintableFact[];
  readonly table?: PrintableTable;
}

export interface PrintableDocument {
  readonly title: string;
  readonly subtitle?: string;
  /** The lines a reader checks first (which version, when, by whom, whom to call). */
  readonly facts: readonly PrintableFact[];
  readonly sections: readonly PrintableSection[];
  /** A closing line on every page (e.g. "Printed … — check the shared record for a later version"). */
  readonly footer?: string;
}

export type PrintFormat = 'pdf' | 'html';

export const PRINT_FORMATS: readonly PrintFormat[] = ['pdf', 'html'];

export const CONTENT_TYPE_OF: Readonly<Record<PrintFormat, string>> = {
  pdf: 'application/pdf',
  html: 'text/html; charset=utf-8',
};
