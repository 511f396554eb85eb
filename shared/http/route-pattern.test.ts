import express from 'express';
import request from 'supertest';
import { routePatternOf } from './route-pattern.js';

describe('routePatternOf', () => {
  const app = express();
  app.get('/fhir/Patient/:id', (req, res) => {
    res.json({ pattern: routePatternOf(req) ?? null });
  });
  app.use((req, res) => {
    res.status(404).json({ pattern: routePatternOf(req) ?? null });
  });

  it('names the pattern of the route that matched, not the path asked for', async () => {
    const res = await request(app).get('/fhir/Patient/nhs-lothian.123');
    expect(res.body).toEqual({ pattern: '/fhir/Patient/:id' });
  });

  it('is undefined when no route matched', async () => {
    const res = await request(app).get('/nowhere');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ pattern: null });
  });
});
