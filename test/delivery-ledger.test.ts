import { ledgerLine, reconcile, type HubDelivery, type OwedDelivery, type ReceivedMessage } from './delivery-ledger.js';

const owed: OwedDelivery[] = [
  { messageId: 'm1', agencyId: 'a' },
  { messageId: 'm1', agencyId: 'b' },
];
const acked = (messageId: string, agencyId: string, acknowledgedAt: number, sentAt?: number[]): HubDelivery => ({ messageId, agencyId, state: 'acknowledged', acknowledgedAt, ...(sentAt ? { sentAt } : {}) });
const got = (messageId: string, agencyId: string, deliveries: number, lastAt: number, stored = 1): ReceivedMessage => ({ messageId, agencyId, deliveries, stored, lastAt });

describe('the reliability ledger', () => {
  it('counts each owed delivery received once and acknowledged as delivered, nothing else', () => {
    const figures = reconcile(owed, [got('m1', 'a', 1, 10), got('m1', 'b', 1, 11)], [acked('m1', 'a', 12), acked('m1', 'b', 13)]);
    expect(figures).toEqual({ sent: 2, delivered: 2, duplicated: 0, lost: 0, resent: 0, unacknowledged: 0, untraced: 0 });
  });

  it('counts a delivery the receiver never got as lost, even if the hub thinks it acknowledged', () => {
    const figures = reconcile(owed, [got('m1', 'a', 1, 10)], [acked('m1', 'a', 12), acked('m1', 'b', 13)]);
    expect(figures).toMatchObject({ lost: 1, delivered: 1 });
  });

  it('counts a message the receiver stored twice as duplicated', () => {
    const figures = reconcile(owed, [got('m1', 'a', 2, 11, 2), got('m1', 'b', 1, 11)], [acked('m1', 'a', 12), acked('m1', 'b', 13)]);
    expect(figures.duplicated).toBe(1);
  });

  it('counts a delivery the hub sent again after it recorded the acknowledgement as duplicated, even though the receiver stored it once', () => {
    const figures = reconcile(owed, [got('m1', 'a', 2, 20), got('m1', 'b', 1, 11)], [acked('m1', 'a', 12, [10, 19]), acked('m1', 'b', 13, [10])]);
    expect(figures).toMatchObject({ duplicated: 1, resent: 0 });
  });

  it('counts a send after the acknowledgement as duplicated even when the receiver processed it before the hub recorded the acknowledgement', () => {
    const figures = reconcile(owed, [got('m1', 'a', 2, 11), got('m1', 'b', 1, 11)], [acked('m1', 'a', 12, [10, 13]), acked('m1', 'b', 13, [10])]);
    expect(figures.duplicated).toBe(1);
  });

  it('reports a repeat sent before the acknowledgement but processed after it (a starved receiver) as resent', () => {
    const figures = reconcile(owed, [got('m1', 'a', 2, 20), got('m1', 'b', 1, 11)], [acked('m1', 'a', 12, [9, 11]), acked('m1', 'b', 13, [10])]);
    expect(figures).toMatchObject({ duplicated: 0, resent: 1 });
  });

  it('counts a repeat processed after the acknowledgement as duplicated when the trail does not show a send for every arrival', () => {
    const noSends = reconcile(owed, [got('m1', 'a', 2, 20), got('m1', 'b', 1, 11)], [acked('m1', 'a', 12), acked('m1', 'b', 13)]);
    expect(noSends).toMatchObject({ duplicated: 1, resent: 0 });
    const oneSend = reconcile(owed, [got('m1', 'a', 2, 20), got('m1', 'b', 1, 11)], [acked('m1', 'a', 12, [11]), acked('m1', 'b', 13)]);
    expect(oneSend.duplicated).toBe(1);
  });

  it('reports a delivery repeated before the acknowledgement (an answer lost in a crash) as resent, not duplicated', () => {
    const figures = reconcile(owed, [got('m1', 'a', 2, 15), got('m1', 'b', 1, 11)], [acked('m1', 'a', 16), acked('m1', 'b', 13)]);
    expect(figures).toEqual({ sent: 2, delivered: 2, duplicated: 0, lost: 0, resent: 1, unacknowledged: 0, untraced: 0 });
  });

  it('keeps received-but-unacknowledged deliveries apart from delivered and lost', () => {
    const figures = reconcile(owed, [got('m1', 'a', 1, 10), got('m1', 'b', 1, 11)], [acked('m1', 'a', 12), { messageId: 'm1', agencyId: 'b', state: 'pending' }]);
    expect(figures).toMatchObject({ delivered: 1, unacknowledged: 1, lost: 0 });
  });

  it('prints the four figures the issue asks for on one line', () => {
    expect(ledgerLine('endpoint down', { sent: 6, delivered: 6, duplicated: 0, lost: 0, resent: 2, unacknowledged: 0, untraced: 0 })).toBe(
      '[reliability] endpoint down: sent 6 / delivered 6 / duplicated 0 / lost 0 (resent before acknowledgement 2, unacknowledged 0, acknowledged without a recorded send 0)',
    );
  });

  it('counts an acknowledged delivery whose sends the trail does not show as untraced', () => {
    const figures = reconcile(owed, [got('m1', 'a', 1, 10), got('m1', 'b', 1, 11)], [acked('m1', 'a', 12, [9]), acked('m1', 'b', 13, [])]);
    expect(figures.untraced).toBe(1);
  });
});
