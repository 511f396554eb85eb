import { narrativeProblem } from './narrative.js';

const XHTML = 'xmlns="http://www.w3.org/1999/xhtml"';

describe('a resource narrative (Narrative.div)', () => {
  it('takes ordinary formatting: paragraphs, lists, tables, links, images, style attributes, entities', () => {
    for (const div of [
      `<div ${XHTML}><p>Highest level demonstrated: <b>MA-L4</b></p><ul><li>one</li></ul></div>`,
      `<div ${XHTML}><table><tr><td style="color: red">Catriona Munro</td></tr></table></div>`,
      `<div ${XHTML}><a href="https://www.nhs.scot/">NHS Scotland</a> &amp; partners</div>`,
      `<div ${XHTML}><img src="#logo" alt=""/></div>`,
      `<div ${XHTML}>On duty: the lead professional (contact by phone)</div>`,
      `<div>no namespace, still a div</div>`,
    ]) {
      expect([div, narrativeProblem(div)]).toEqual([div, undefined]);
    }
  });

  it('refuses active content and what is not a narrative, saying which rule', () => {
    const cases: [string, RegExp][] = [
      [`<div ${XHTML}><script>alert(1)</script>x</div>`, /txt-1.*<script>/],
      [`<div ${XHTML}><SCRIPT src="https://evil.example/x.js"></SCRIPT>x</div>`, /txt-1.*<script>/],
      [`<div ${XHTML}><img src="x" onerror="alert(1)"/></div>`, /txt-1.*event-handler/],
      [`<div ${XHTML}><p onclick = "steal()">hi</p></div>`, /txt-1.*event-handler/],
      [`<div ${XHTML}><a href="javascript:alert(1)">click</a></div>`, /txt-1.*javascript:/],
      [`<div ${XHTML}><a href=" JavaScript:alert(1)">click</a></div>`, /txt-1.*javascript:/],
      [`<div ${XHTML}><iframe src="https://evil.example"></iframe>x</div>`, /txt-1.*<iframe>/],
      [`<div ${XHTML}><form action="https://evil.example"><input name="chi"/></form></div>`, /txt-1.*<form>/],
      [`<div ${XHTML}><svg onload="alert(1)"></svg>x</div>`, /txt-1/],
      [`<!DOCTYPE x [<!ENTITY e "boom">]><div ${XHTML}>&e;</div>`, /root element is a <div>/],
      [`<div ${XHTML}><!ENTITY e "boom">x</div>`, /txt-1.*entity/],
      ['Just some text', /root element is a <div>/],
      [`<p ${XHTML}>a paragraph</p>`, /root element is a <div>/],
      [`<div ${XHTML}>   </div>`, /txt-2/],
      [`<div ${XHTML}><p> &nbsp; </p><!-- nothing --></div>`, /txt-2/],
    ];
    for (const [div, problem] of cases) {
      expect([div, narrativeProblem(div)]).toEqual([div, expect.stringMatching(problem)]);
    }
  });
});
