/**
 * The five FHIR services' Express apps on one test Redis (the alerts test stack — MPI and directory — plus plans and
 * audit), for suites that read every service's routes or CapabilityStatement without listening on ports.
 */
import type { Express } from 'express';
import { auditService } from '../services/audit/module.js';
import { loadAuditConfig } from '../services/audit/config.js';
import { loadPlansConfig } from '../services/plans/config.js';
import { plansService } from '../services/plans/module.js';
import { startTestAlerts, type TestAlerts } from './alerts.js';

export interface ServiceApps {
  readonly alerts: TestAlerts;
  /** Each service's name and app: directory, mpi, alerts, plans, audit. */
  readonly apps: ReadonlyArray<readonly [string, Express]>;
  close(): Promise<void>;
}

export async function startServiceApps(): Promise<ServiceApps> {
  const alerts = await startTestAlerts();
  const { mpi } = alerts;
  const plans = await plansService.createService(mpi.dir.deps, loadPlansConfig({}));
  const audit = await auditService.createService(mpi.dir.deps, loadAuditConfig({}));
  return {
    alerts,
    apps: [
      ['directory', mpi.dir.app],
      ['mpi', mpi.app],
      ['alerts', alerts.app],
      ['plans', plans.app],
      ['audit', audit.app],
    ],
    async close() {
      await audit.close();
      await plans.close();
      await alerts.close();
    },
  };
}
