/** Runs the agency simulator on its own (docker-compose): `node dist/services/agency-sim/main.js`. */
import { runServiceMain } from '../../shared/runtime/main.js';
import { agencySimService } from './module.js';

await runServiceMain(agencySimService);
