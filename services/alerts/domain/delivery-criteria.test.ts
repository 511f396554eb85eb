import { deliveryCriteria } from './delivery-criteria.js';

describe('deliveryCriteria', () => {
  it('counts a delivery to an agency the ISP routes to as MA-L4', () => {
    expect(deliveryCriteria('social-work', false)).toEqual(['MA-L4']);
    expect(deliveryCriteria('education', false)).toEqual(['MA-L4']);
  });

  it.each(['emergency-department', 'out-of-hours', 'police', 'fire-rescue'] as const)('counts a delivery to %s as MA-L5 too', (type) => {
    expect(deliveryCriteria(type, false)).toEqual(['MA-L4', 'MA-L5']);
  });

  it('counts a delivery across a partnership boundary as MA-L5 too', () => {
    expect(deliveryCriteria('social-work', true)).toEqual(['MA-L4', 'MA-L5']);
  });
});
