/** Runs the alerts service on its own (docker-compose, scaling out): `node dist/services/alerts/main.js`. */
import { runServiceMain } from '../../shared/runtime/main.js';
import { alertsService } from './module.js';

await runServiceMain(alertsService);
