/**
 * Writes a PrintableDocument (document.ts) as one self-contained HTML page
 * with print styles: no scripts, no external resources, every value escaped.
 */
import type { PrintableDocument, PrintableFact, PrintableSection } from './document.js';

const STYLE = `body{font-family:Helvetica,Arial,sans-serif;max-width:50em;margin:2em auto;color:#111}
h1{font-size:1.6em;margin-bottom:.2em}.subtitle{color:#444;margin-top:0}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}dd{margin:0}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.25em .5em;border-bottom:1px solid #ccc}
footer{margin-top:2em;color:#666;font-size:.85em}@media print{body{margin:0}}`;

/** The document as an HTML page. */
export function renderHtml(document: PrintableDocument): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(document.title)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(document.title)}</h1>`,
    document.subtitle ? `<p class="subtitle">${escapeHtml(document.subtitle)}</p>` : '',
    facts(document.facts),
    ...document.sections.map(section),
    document.footer ? `<footer>${escapeHtml(document.footer)}</footer>` : '',
    '</body></html>',
  ].join('\n');
}

function facts(list: readonly PrintableFact[]): string {
  if (list.length === 0) return '';
  return `<dl>${list.map((f) => `<dt>${escapeHtml(f.label)}</dt><dd>${escapeHtml(f.value)}</dd>`).join('')}</dl>`;
}

function section(s: PrintableSection): string {
  const table = s.table
    ? `<table><thead><tr>${s.table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>${s.table.rows
        .map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`)
        .join('')}</tbody></table>`
    : '';
  return `<section><h2>${escapeHtml(s.heading)}</h2>${(s.paragraphs ?? []).map((p) => `<p>${escapeHtml(p)}</p>`).join('')}${facts(s.facts ?? [])}${table}</section>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}
