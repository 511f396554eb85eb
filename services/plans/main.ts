/** Runs the plans service on its own (docker-compose, scaling out): `node dist/services/plans/main.js`. */
import { runServiceMain } from '../../shared/runtime/main.js';
import { plansService } from './module.js';

await runServiceMain(plansService);
