import type { Io } from '../exit.js';
import { portalAgencyOf, tokenCommand } from './token.js';

const quiet: Io = { out: () => {}, err: () => {} };

describe('infoshare token', () => {
  it('tells someone who asks a token for a partnership that it is a partnership, not an agency, and names one of its agencies', async () => {
    await expect(tokenCommand(['--agency', 'lothian-hscp'], quiet)).rejects.toMatchObject({
      name: 'UsageError',
      message: expect.stringMatching(/^"lothian-hscp" is a partnership \(Lothian Health & Social Care Partnership\), not an agency: .*--agency nhs-lothian/),
    });
  });

  it('still calls an unknown id not a demo agency', async () => {
    await expect(tokenCommand(['--agency', 'nhs-lothain'], quiet)).rejects.toMatchObject({
      name: 'UsageError',
      message: '"nhs-lothain" is not a demo agency (see `infoshare agencies`)',
    });
  });

  it("signs a demo person in through the agency that manages their Named Person / Lead Professional team", () => {
    expect(portalAgencyOf('demo-child-1')).toBe('nhs-lothian');
    expect(portalAgencyOf('Patient/demo-adult-1')).toMatch(/^[a-z-]+$/);
    expect(() => portalAgencyOf('someone-else')).toThrow(/not a demo person/);
  });
});
