import express, { type RequestHandler } from 'express';
import request from 'supertest';
import { inSeries } from './series.js';

/** An app whose one series records the steps it ran, then answers with them (or with the error that left it). */
function appWith(...handlers: RequestHandler[]) {
  const app = express();
  app.use((_req, res, next) => {
    res.locals.steps = [];
    next();
  });
  app.use(inSeries(...handlers));
  app.get('/x', (_req, res) => {
    res.json({ steps: res.locals.steps as string[] });
  });
  app.use(((err: Error, _req, res, _next) => {
    res.status(418).json({ error: err.message, steps: res.locals.steps as string[] });
  }) as express.ErrorRequestHandler);
  return app;
}

const step =
  (name: string): RequestHandler =>
  (_req, res, next) => {
    (res.locals.steps as string[]).push(name);
    next();
  };

describe('middleware in series', () => {
  it('runs each in order, then the routes after it', async () => {
    const res = await request(appWith(step('a'), step('b'), step('c'))).get('/x');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ steps: ['a', 'b', 'c'] });
  });

  it('waits for a step that calls next later', async () => {
    const later: RequestHandler = (_req, res, next) => {
      setTimeout(() => {
        (res.locals.steps as string[]).push('later');
        next();
      }, 5);
    };
    const res = await request(appWith(step('a'), later, step('b'))).get('/x');
    expect(res.body).toEqual({ steps: ['a', 'later', 'b'] });
  });

  it('leaves for the error handler on next(err), a throw or a rejected promise, running nothing after it', async () => {
    const passed: RequestHandler = (_req, _res, next) => next(new Error('passed'));
    const thrown: RequestHandler = () => {
      throw new Error('thrown');
    };
    const rejected: RequestHandler = async () => {
      await Promise.resolve();
      throw new Error('rejected');
    };
    for (const [failing, message] of [
      [passed, 'passed'],
      [thrown, 'thrown'],
      [rejected, 'rejected'],
    ] as const) {
      const res = await request(appWith(step('a'), failing, step('b'))).get('/x');
      expect(res.status).toBe(418);
      expect(res.body).toEqual({ error: message, steps: ['a'] });
    }
  });

  it('lets a step answer the request itself, running nothing after it', async () => {
    const answers: RequestHandler = (_req, res) => {
      res.status(204).end();
    };
    const res = await request(appWith(step('a'), answers, step('b'))).get('/x');
    expect(res.status).toBe(204);
  });
});
