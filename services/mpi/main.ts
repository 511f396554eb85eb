/** Runs the MPI on its own (docker-compose, scaling out): `node dist/services/mpi/main.js`. */
import { runServiceMain } from '../../shared/runtime/main.js';
import { mpiService } from './module.js';

await runServiceMain(mpiService);
