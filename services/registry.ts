/** The services `services/hub.ts` starts, in start order (directory first: the others need its tokens). */
import type { ServiceModule } from '../shared/runtime/deps.js';
import { agencySimService } from './agency-sim/module.js';
import { alertsService } from './alerts/module.js';
import { auditService } from './audit/module.js';
import { directoryService } from './directory/module.js';
import { mpiService } from './mpi/module.js';
import { plansService } from './plans/module.js';

export const SERVICE_MODULES: readonly ServiceModule[] = [directoryService, mpiService, alertsService, plansService, auditService, agencySimService];
