/**
 * The alerts delivery re-check with each person's Consents kept in the process
 * (PlansView.keepingConsents), against a real Redis: it decides exactly as the
 * uncached re-check, a Consent written after a decision bites at the next one,
 * and a Consent's period is judged at each decision.
 */
import { jest } from '@jest/globals';
import type { Redis } from 'ioredis';
import { KeySpace } from '../../shared/redis/connection.js';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/redis.js';
import { consent, storeConsent } from '../../test/plans.js';
import { consentStore, withPerson } from './consent-store.js';
import { KeptConsents } from './kept-consents.js';
import { PlansView } from './view.js';

const prefix = uniquePrefix('plans-kept');
let redis: Redis;
let keys: KeySpace;

beforeAll(() => {
  redis = testRedis();
  keys = new KeySpace(prefix);
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

const NHS = { id: 'nhs-lothian', type: 'nhs-board' } as const;
const GP = { id: 'gp-leith-cluster', type: 'gp-cluster' } as const;

function question(personId: string, recipient: { id: string; type: 'nhs-board' | 'gp-cluster' }, now = new Date('2026-12-06T11:00:00Z')) {
  return { personId, senderAgency: 'edinburgh-social-work', recipient, purpose: 'child-protection' as const, now };
}

describe('the alert delivery re-check with Consents kept between calls', () => {
  it('sees a withholding Consent written after a permit at the very next call, and its revocation at the one after', async () => {
    const view = new PlansView(redis, keys);
    const kept = view.keepingConsents();
    const person = 'person-1';
    expect((await kept.alertDelivery(question(person, NHS))).permit).toBe(true);
    expect((await kept.alertDelivery(question(person, NHS))).permit).toBe(true);

    const stored = await storeConsent(redis, keys, consent('Patient/p1', [{ actor: 'Organization/nhs-lothian', classes: ['alerts'], type: 'deny' }], { id: 'withhold-1' }), person);
    const withheld = await kept.alertDelivery(question(person, NHS));
    expect(withheld.permit).toBe(false);
    expect(withheld).toEqual(await view.alertDelivery(question(person, NHS)));
    // Kept: the same answer again, and another recipient still allowed.
    expect((await kept.alertDelivery(question(person, NHS))).permit).toBe(false);
    expect((await kept.alertDelivery(question(person, GP))).permit).toBe(true);

    await consentStore(redis, keys).update(withPerson({ ...stored, status: 'inactive' }, person), { cause: { requestId: 'test-revoke', agent: {} } });
    expect((await kept.alertDelivery(question(person, NHS))).permit).toBe(true);
  });

  it('decides the calls asked together on one revision read, each seeing a Consent written before them as the uncached check does', async () => {
    const view = new PlansView(redis, keys);
    const kept = view.keepingConsents();
    expect((await kept.alertDelivery(question('person-2', GP))).permit).toBe(true);
    await storeConsent(redis, keys, consent('Patient/p2', [{ actor: 'Organization/gp-leith-cluster', classes: ['alerts'], type: 'deny' }], { id: 'withhold-2' }), 'person-2');
    // Asked together (one revision read for both): both see the write.
    const [gp, nhs] = await Promise.all([kept.alertDelivery(question('person-2', GP)), kept.alertDelivery(question('person-2', NHS))]);
    expect(gp).toEqual(await view.alertDelivery(question('person-2', GP)));
    expect(gp.permit).toBe(false);
    expect(nhs.permit).toBe(true);
  });

  it('decides under a revision the caller read with its other reads (the delivery worker, with its claim): a Consent written before that read is seen', async () => {
    const kept = new PlansView(redis, keys).keepingConsents();
    const person = 'person-9';
    expect((await kept.alertDeliveryUnder(await kept.revision(), question(person, NHS))).permit).toBe(true);
    const before = await kept.revision();
    await storeConsent(redis, keys, consent('Patient/p9', [{ actor: 'Organization/nhs-lothian', classes: ['alerts'], type: 'deny' }], { id: 'withhold-9' }), person);
    const after = await kept.revision();
    expect(after).not.toBe(before);
    const withheld = await kept.alertDeliveryUnder(after, question(person, NHS));
    expect(withheld.permit).toBe(false);
    expect(withheld).toEqual(await new PlansView(redis, keys).alertDelivery(question(person, NHS)));
  });

  it("reads a person's Consents once for the attempts asked together (a message's recipients), each deciding as a check that keeps nothing", async () => {
    const store = consentStore(redis, keys);
    const reads = jest.spyOn(store, 'findProjections');
    const kept = new KeptConsents(store);
    const person = 'person-8';
    await storeConsent(redis, keys, consent('Patient/p8', [{ actor: 'Organization/nhs-lothian', classes: ['alerts'], type: 'deny' }], { id: 'withhold-8' }), person);
    const recipients = [NHS, GP, NHS, GP, NHS, GP];
    const decisions = await Promise.all(recipients.map((r) => kept.decide(question(person, r))));
    expect(reads).toHaveBeenCalledTimes(1);
    // As a check that keeps nothing decides, one attempt at a time.
    for (const [i, r] of recipients.entries()) expect(decisions[i]).toEqual(await new KeptConsents(consentStore(redis, keys)).decide(question(person, r)));
    expect(decisions.map((d) => d.permit)).toEqual([false, true, false, true, false, true]);
  });

  it('judges a kept Consent’s period at each call: a withholding that ends lets the next delivery through without any write', async () => {
    const kept = new PlansView(redis, keys).keepingConsents();
    const person = 'person-3';
    await storeConsent(
      redis,
      keys,
      consent('Patient/p3', [{ actor: 'Organization/nhs-lothian', classes: ['alerts'], type: 'deny', period: { start: '2026-12-01T00:00:00Z', end: '2026-12-06T12:00:00Z' } }], { id: 'withhold-3' }),
      person,
    );
    expect((await kept.alertDelivery(question(person, NHS, new Date('2026-12-06T11:59:00Z')))).permit).toBe(false);
    expect((await kept.alertDelivery(question(person, NHS, new Date('2026-12-06T12:01:00Z')))).permit).toBe(true);
  });
});

describe("a plans read's Consents kept between requests (KeptConsents.recordsNow)", () => {
  it('gives each request the Consents as they stand: a grant, then its narrowing and revocation, each seen by the very next request', async () => {
    const store = consentStore(redis, keys);
    const kept = new KeptConsents(store);
    const person = 'person-4';
    expect(await kept.recordsNow([person])).toEqual([[]]);
    const stored = await storeConsent(redis, keys, consent('Patient/p4', [{ actor: 'Organization/edinburgh-education', classes: ['plans', 'assessments'] }], { id: 'share-4' }), person);
    const [granted] = await kept.recordsNow([person]);
    expect(granted!.map((c) => [c.reference, c.status, c.rules[0]!.categories])).toEqual([['Consent/share-4', 'active', ['plans', 'assessments']]]);
    // Asked again with nothing written: read again, but the same records (the very objects: nothing parsed again).
    expect((await kept.recordsNow([person]))[0]).toBe(granted);

    const narrowed = await store.update(withPerson(consent('Patient/p4', [{ actor: 'Organization/edinburgh-education', classes: ['assessments'] }], { id: 'share-4' }), person), {
      cause: { requestId: 'test-narrow', agent: {} },
    });
    expect((await kept.recordsNow([person]))[0]!.map((c) => c.rules[0]!.categories)).toEqual([['assessments']]);
    await store.update(withPerson({ ...narrowed.resource, status: 'inactive' }, person), { cause: { requestId: 'test-revoke', agent: {} } });
    expect((await kept.recordsNow([person]))[0]!.map((c) => c.status)).toEqual(['inactive']);
    expect(stored.id).toBe('share-4');
  });

  it('reads every request afresh: a Consent written about someone else leaves a person’s rules as they were (nothing parsed again), their own is seen at once', async () => {
    const store = consentStore(redis, keys);
    const kept = new KeptConsents(store);
    await storeConsent(redis, keys, consent('Patient/p5', [{ actor: 'Organization/edinburgh-education', classes: ['plans'] }], { id: 'share-5' }), 'person-5');
    const [first] = await kept.recordsNow(['person-5', 'person-6']);
    await storeConsent(redis, keys, consent('Patient/p6', [{ actor: 'Organization/edinburgh-education', classes: ['plans'] }], { id: 'share-6' }), 'person-6');
    const [five, six] = await kept.recordsNow(['person-5', 'person-6']);
    expect(five).toBe(first);
    expect(six!.map((c) => c.reference)).toEqual(['Consent/share-6']);
  });

  it('reads the rules of a Consent stored before Consents had projections from the Consent itself, and the same as its projection says', async () => {
    const store = consentStore(redis, keys);
    const stored = await storeConsent(redis, keys, consent('Patient/p7', [{ actor: 'Organization/edinburgh-education', classes: ['plans'] }], { id: 'share-7' }), 'person-7');
    const [withProjection] = await new KeptConsents(store).recordsNow(['person-7']);
    // As a Consent written by an earlier version of the hub is stored: no projection beside it.
    await redis.hdel(keys.key('plans:Consent', 'proj'), stored.id!);
    const [withoutProjection] = await new KeptConsents(store).recordsNow(['person-7']);
    expect(withoutProjection).toEqual(withProjection);
    expect(withoutProjection!.map((c) => [c.reference, c.rules[0]!.categories])).toEqual([['Consent/share-7', ['plans']]]);
  });
});
