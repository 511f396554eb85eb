import { checkInitialStatus, checkTransition, performerAgencyOf } from './service-request.js';

describe('the request-for-assistance lifecycle', () => {
  it('starts as draft or active only', () => {
    expect(checkInitialStatus('draft').ok).toBe(true);
    expect(checkInitialStatus('active').ok).toBe(true);
    expect(checkInitialStatus('completed')).toMatchObject({ ok: false, status: 422 });
  });

  it('lets the requester send, edit and revoke, and only the assigned agency complete', () => {
    expect(checkTransition('draft', 'active', 'requester').ok).toBe(true);
    expect(checkTransition('draft', 'draft', 'requester').ok).toBe(true);
    expect(checkTransition('active', 'revoked', 'requester').ok).toBe(true);
    expect(checkTransition('active', 'completed', 'performer').ok).toBe(true);
    expect(checkTransition('active', 'completed', 'requester')).toMatchObject({ ok: false, status: 403 });
    expect(checkTransition('draft', 'active', 'performer')).toMatchObject({ ok: false, status: 403 });
  });

  it('refuses skipping a step (422) and any change after completed or revoked (409)', () => {
    expect(checkTransition('draft', 'completed', 'requester')).toMatchObject({ ok: false, status: 422 });
    expect(checkTransition('completed', 'active', 'requester')).toMatchObject({ ok: false, status: 409 });
    expect(checkTransition('revoked', 'revoked', 'requester')).toMatchObject({ ok: false, status: 409 });
    expect(checkTransition('active', 'on-hold', 'requester')).toMatchObject({ ok: false, status: 422 });
  });

  it('names the assigned agency only when exactly one Organization performs it', () => {
    expect(performerAgencyOf({ performer: [{ reference: 'Organization/children1st-edinburgh' }] })).toBe('children1st-edinburgh');
    expect(performerAgencyOf({ performer: [{ reference: 'PractitionerRole/x' }] })).toBeUndefined();
    expect(performerAgencyOf({ performer: [{ reference: 'Organization/a' }, { reference: 'Organization/b' }] })).toBeUndefined();
    expect(performerAgencyOf({})).toBeUndefined();
  });
});
