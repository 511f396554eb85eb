import { ledgerLine, reconcile, type HubDelivery, type OwedDelivery, type ReceivedPost } from './delivery-ledger.js';

const owed: OwedDelivery[] = [
  { messageId: 'm1', agencyId: 'a' },
  { messageId: 'm1', agencyId: 'b' },
];
const acked = (messageId: string, agencyId: string, acknowledgedAt: number): HubDelivery => ({ messageId, agencyId, state: 'acknowledged', acknowledgedAt });
const post = (messageId: string, agencyId: string, at: number, stored: boolean): ReceivedPost => ({ messageId, agencyId, at, stored });

describe('the reliability ledger', () => {
  it('counts each owed delivery stored once and acknowledged as delivered, nothing else', () => {
    const figures = reconcile(owed, [post('m1', 'a', 10, true), post('m1', 'b', 11, true)], [acked('m1', 'a', 12), acked('m1', 'b', 13)]);
    expect(figures).toEqual({ sent: 2, delivered: 2, duplicated: 0, lost: 0, resent: 0, unacknowledged: 0 });
  });

  it('counts a delivery the receiver never stored as lost, even if the hub thinks it acknowledged', () => {
    const figures = reconcile(owed, [post('m1', 'a', 10, true)], [acked('m1', 'a', 12), acked('m1', 'b', 13)]);
    expect(figures.lost).toBe(1);
    expect(figures.delivered).toBe(1);
  });

  it('counts a message stored twice by the receiver as duplicated', () => {
    const figures = reconcile(owed, [post('m1', 'a', 10, true), post('m1', 'a', 11, true), post('m1', 'b', 11, true)], [acked('m1', 'a', 12), acked('m1', 'b', 13)]);
    expect(figures.duplicated).toBe(1);
  });

  it('counts a POST after the hub recorded the acknowledgement as duplicated, even when the receiver did not store it again', () => {
    const figures = reconcile(owed, [post('m1', 'a', 10, true), post('m1', 'a', 20, false), post('m1', 'b', 11, true)], [acked('m1', 'a', 12), acked('m1', 'b', 13)]);
    expect(figures.duplicated).toBe(1);
    expect(figures.resent).toBe(0);
  });

  it('reports a POST repeated before the acknowledgement (an answer lost in a crash) as resent, not duplicated', () => {
    const figures = reconcile(owed, [post('m1', 'a', 10, true), post('m1', 'a', 15, false), post('m1', 'b', 11, true)], [acked('m1', 'a', 16), acked('m1', 'b', 13)]);
    expect(figures).toEqual({ sent: 2, delivered: 2, duplicated: 0, lost: 0, resent: 1, unacknowledged: 0 });
  });

  it('keeps stored-but-unacknowledged deliveries apart from delivered and lost', () => {
    const figures = reconcile(owed, [post('m1', 'a', 10, true), post('m1', 'b', 11, true)], [acked('m1', 'a', 12), { messageId: 'm1', agencyId: 'b', state: 'pending' }]);
    expect(figures).toMatchObject({ delivered: 1, unacknowledged: 1, lost: 0 });
  });

  it('prints the four figures the issue asks for on one line', () => {
    expect(ledgerLine('endpoint down', { sent: 6, delivered: 6, duplicated: 0, lost: 0, resent: 2, unacknowledged: 0 })).toBe(
      '[reliability] endpoint down: sent 6 / delivered 6 / duplicated 0 / lost 0 (resent before acknowledgement 2, unacknowledged 0)',
    );
  });
});
