/**
 * The directory's Express app: wiring only. Never listens (main.ts and
 * services/hub.ts do), so tests drive it with supertest.
 *
 *   /auth/token, /auth/jwks.json      routes/auth.ts
 *   /fhir/metadata                    routes/metadata.ts
 *   /fhir/Contract/:id/$sign|$verify  routes/contract-operations.ts
 *   /fhir/<Type>…                     routes/fhir-resources.ts
 */
import { Router, type Express } from 'express';
import { createServiceApp } from '../../shared/http/service-app.js';
import type { DirectoryContext } from './context.js';
import { authRoutes } from './routes/auth.js';
import { contractOperationRoutes } from './routes/contract-operations.js';
import { fhirResourceRoutes } from './routes/fhir-resources.js';
import { metadataRoutes } from './routes/metadata.js';

export function createApp(ctx: DirectoryContext): Express {
  const routes = Router();
  routes.use(authRoutes(ctx));
  routes.use('/fhir', metadataRoutes(ctx));
  routes.use('/fhir', contractOperationRoutes(ctx));
  routes.use('/fhir', fhirResourceRoutes(ctx));
  const { redis, audit, log, config } = ctx.deps;
  return createServiceApp({ service: 'directory', redis, audit, log, bodyLimit: config.bodyLimit, routes });
}
