import http from 'node:http';
import express from 'express';
import { loadConfig, SERVICE_NAMES } from '../config.js';
import { freePortSettings, KEEP_ALIVE_IDLE_MS, listen, type Listening } from './listen.js';

/** GET `path` on the server; the status, a header and the body. */
function get(port: number, path: string): Promise<{ status: number; header: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, header: res.headers['x-seen'] as string | undefined, body }));
      })
      .on('error', reject);
  });
}

describe('listen (an Express app on a port)', () => {
  let served: Listening | undefined;
  const setPrototypeOf = Object.setPrototypeOf;
  afterEach(async () => {
    Object.setPrototypeOf = setPrototypeOf;
    await served?.close();
    served = undefined;
  });

  it("makes each request and response with Express's prototypes, so Express never changes a live object's prototype", async () => {
    const app = express();
    app.get('/things/:id', (req, res) => {
      res.setHeader('x-seen', String(req.app === app));
      res.status(200).json({ id: req.params.id, request: Object.getPrototypeOf(req) === app.request, response: Object.getPrototypeOf(res) === app.response });
    });
    served = await listen(app, 0, '127.0.0.1');
    // Every prototype change made while a request is served (Express's `handle` sets req's and res's).
    const changed: (string | undefined)[] = [];
    Object.setPrototypeOf = (target: object, proto: object | null): object => {
      if (Object.getPrototypeOf(target) !== proto) changed.push((target as { constructor?: { name?: string } }).constructor?.name);
      return setPrototypeOf(target, proto) as object;
    };

    const answer = await get(served.port, '/things/42');
    Object.setPrototypeOf = setPrototypeOf;

    expect(answer).toEqual({ status: 200, header: 'true', body: JSON.stringify({ id: '42', request: true, response: true }) });
    expect(changed).toEqual([]);
  });

  it("keeps Express's request and response methods and the app on both servers when one app listens twice", async () => {
    const app = express();
    app.get('/things/:id', (req, res) => {
      res.setHeader('x-seen', String(req.app === app && res.app === app));
      res.status(201).json({ id: req.params.id, host: req.get('host') !== undefined });
    });
    const first = await listen(app, 0, '127.0.0.1');
    try {
      served = await listen(app, 0, '127.0.0.1');
      for (const port of [first.port, served.port]) {
        expect(await get(port, '/things/7')).toEqual({ status: 201, header: 'true', body: JSON.stringify({ id: '7', host: true }) });
      }
    } finally {
      await first.close();
    }
  });

  it('keeps an idle connection open past the 5 s a client reusing it may take for granted, and answers on it', async () => {
    const app = express();
    app.get('/ping', (_req, res) => {
      res.json({ ok: true });
    });
    served = await listen(app, 0, '127.0.0.1');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const ping = () =>
      new Promise<{ status: number; keepAlive: string | undefined }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: served!.port, path: '/ping', agent }, (res) => {
            sockets.add(res.socket);
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, keepAlive: res.headers['keep-alive'] as string | undefined }));
          })
          .on('error', reject);
      });
    expect(await ping()).toEqual({ status: 200, keepAlive: `timeout=${KEEP_ALIVE_IDLE_MS / 1000}` });
    // Idle for longer than Node's default keep-alive (5 s): the server has not closed the connection.
    await new Promise((resolve) => setTimeout(resolve, 6_500));
    expect(await ping()).toMatchObject({ status: 200 });
    expect(sockets.size).toBe(1);
    agent.destroy();
  });

  it("answers a route Express does not know with Express's own 404", async () => {
    served = await listen(express(), 0, '127.0.0.1');
    expect((await get(served.port, '/nowhere')).status).toBe(404);
  });
});

describe('freePortSettings (a hub on free ports)', () => {
  it('gives each service named a distinct free port, as the settings the hub reads its ports from', async () => {
    const settings = await freePortSettings(SERVICE_NAMES);
    const { ports } = loadConfig(settings);
    const given = SERVICE_NAMES.map((service) => ports[service]);
    expect(new Set(given).size).toBe(SERVICE_NAMES.length);
    // Free: each can be listened on now.
    for (const port of given) {
      const served = await listen(express(), port, '127.0.0.1');
      await served.close();
    }
  });

  it('sets only the services named: the others keep their usual ports', async () => {
    const { ports } = loadConfig(await freePortSettings(['mpi']));
    expect(ports.mpi).not.toBe(4001);
    expect(ports.directory).toBe(4000);
  });
});
