import { Router } from 'express';
import { assertCaseSensitive, serviceRouter } from './router.js';

describe('service routers match paths case-sensitively', () => {
  it('takes a serviceRouter with serviceRouters mounted in it', () => {
    const inner = serviceRouter();
    inner.get('/Organization', () => undefined);
    const outer = serviceRouter();
    outer.use('/fhir', inner);
    expect(() => assertCaseSensitive(outer)).not.toThrow();
  });

  it('refuses an Express Router made without it, also when mounted inside one', () => {
    expect(() => assertCaseSensitive(Router())).toThrow(/serviceRouter/);
    const outer = serviceRouter();
    outer.use('/fhir', Router());
    expect(() => assertCaseSensitive(outer)).toThrow(/serviceRouter/);
  });
});
