/** Runs the audit service on its own (docker-compose, scaling out): `node dist/services/audit/main.js`. */
import { runServiceMain } from '../../shared/runtime/main.js';
import { auditService } from './module.js';

await runServiceMain(auditService);
