/**
 * R4's rules for a narrative's XHTML (`Narrative.div`) that the structure validator does not evaluate:
 * - the root element is a `<div>` (narrative.html: "the XHTML content SHALL be a <div> element");
 * - txt-1: only basic HTML formatting — no scripts, forms, frames, embedded objects or document-level elements, no
 *   event-handler attributes (`onerror=`), no `javascript:` links (what R4's `htmlChecks()` refuses);
 * - txt-2: some non-whitespace content (text or an image).
 * A narrative is shown to people by other systems as it is stored: a script in it runs in their reader. This is a
 * refusal list, not an XHTML parser: ordinary formatting (`<p>`, `<b>`, `<table>`, `<a href>`, `<img src>`, `style`
 * attributes) passes.
 */

/** Elements R4 narrative may not contain (txt-1): active content, forms, frames, document structure. */
const FORBIDDEN_ELEMENT =
  /<\s*(script|style|iframe|frame|frameset|object|embed|applet|form|input|button|select|textarea|option|base|link|meta|head|body|html|title|svg|math)\b/i;
/** An event-handler attribute (`onload=`, `onerror =`) inside a tag. */
const EVENT_ATTRIBUTE = /<[^>]*[\s/"']on[a-z]+\s*=/i;
/** A link or source that runs code (`javascript:`, `vbscript:`, a `data:` HTML document). */
const ACTIVE_URL = /\b(href|src|action|xlink:href)\s*=\s*["']?\s*(javascript|vbscript|data\s*:\s*text\/html)/i;
/** DTDs and entity declarations: no place in a fragment (and the way to an entity expansion). */
const DECLARATION = /<!\s*(DOCTYPE|ENTITY)/i;
const ROOT_DIV = /^\s*<div[\s>/]/;

/** Why `div` is not an R4 narrative, or undefined when it may be one. */
export function narrativeProblem(div: string): string | undefined {
  if (!ROOT_DIV.test(div)) return 'A narrative is XHTML whose root element is a <div> (e.g. <div xmlns="http://www.w3.org/1999/xhtml">…</div>)';
  const element = FORBIDDEN_ELEMENT.exec(div)?.[1];
  if (element) return `txt-1: a narrative may contain only basic HTML formatting, not <${element.toLowerCase()}>`;
  if (EVENT_ATTRIBUTE.test(div)) return 'txt-1: a narrative may not carry event-handler attributes (on…=)';
  if (ACTIVE_URL.test(div)) return 'txt-1: a narrative may not link to script (javascript:, vbscript: or data:text/html)';
  if (DECLARATION.test(div)) return 'txt-1: a narrative may not carry a DOCTYPE or entity declaration';
  const text = div.replace(/<!--[\s\S]*?-->/g, '').replace(/<[^>]*>/g, '').replace(/&nbsp;|&#160;|&#xa0;/gi, ' ');
  if (text.trim() === '' && !/<img[\s/>]/i.test(div)) return 'txt-2: a narrative must have some non-whitespace content';
  return undefined;
}
