/** The directory on its own (docker-compose, scaling out): `node dist/services/directory/main.js`. */
import { runServiceMain } from '../../shared/runtime/main.js';
import { directoryService } from './module.js';

await runServiceMain(directoryService);
