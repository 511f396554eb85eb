/**
 * Middleware run one after another as ONE layer of the app's router. Each layer Express's router passes a
 * request through costs a match object, a parameter pass and closures (about 1 kB of garbage and a few µs a
 * layer), and the shell (service-app.ts) puts every request through a dozen that always run in the same
 * order at the same mount: grouped, a plan read makes ~7 kB less garbage. Errors — passed to `next`, thrown,
 * or a rejected promise, as Express 5 takes them — leave the series for the app's error handler at once.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export function inSeries(...handlers: readonly RequestHandler[]): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    let at = 0;
    const step = (err?: unknown): void => {
      // Express's `next(err)`: any truthy value leaves the series (`'route'`/`'router'` too, for the app's router to read).
      if (err) return next(err);
      const handler = handlers[at++];
      if (!handler) return next();
      try {
        const returned: unknown = handler(req, res, step);
        if (returned instanceof Promise) returned.catch((rejection: unknown) => next(rejection ?? new Error('Rejected promise')));
      } catch (thrown) {
        next(thrown);
      }
    };
    step();
  };
}
