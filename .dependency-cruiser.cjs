/**
 * Import rules the compiler cannot see, checked by dependency-cruiser in `npm run lint`
 * (and so in `npm test`). The README's "Architecture rules" lists them for readers;
 * change both together.
 *
 * Paths are relative to the repository root. `cli/`, `bench/`, `test/` and `fixtures/`
 * are tools around the hub, not parts of it: they may import any service.
 */

/** Node built-ins and packages that do I/O: a pure module imports none of them. */
const IO_MODULES = [
  '^(node:)?(fs|fs/promises|net|tls|http|https|http2|dgram|dns|child_process|cluster|worker_threads|readline)$',
  '^node_modules/(ioredis|bullmq|express|supertest|fhir-kit-client)/',
];

/** Our own modules that do I/O: Redis stores, queues and workers, HTTP handlers, process entry points. */
const IO_FILES = [
  '^services/[^/]+/(store|main|module|routes|app)\\.ts$',
  '^services/[^/]+/(workers|operations|routes)/',
  '^shared/(redis|queue|runtime|http|client)/',
  '^shared/store/resource-store\\.ts$',
  '^shared/audit/audit-client\\.ts$',
  '^shared/auth/jti-store\\.ts$',
  '^shared/fhir/validation-pool\\.ts$',
];

/**
 * Pure modules: rules and calculations only, unit-tested without Redis, files or a network.
 * Every service's domain/, and the shared modules of the same kind (named one by one: shared/
 * is grouped by topic, not by layer).
 */
const PURE_MODULES = [
  '^services/[^/]+/domain/',
  '^shared/domain/',
  '^shared/[^/]+/domain/',
  '^shared/canonical-json\\.ts$',
  '^shared/fhir/(outcome|systems|bundle)\\.ts$',
  '^shared/isp/(agencies|canonical|contract|dates|evaluator|signatures)\\.ts$',
  '^shared/maturity/levels\\.ts$',
  '^shared/store/(content-hash|date-range|search-params|search-plan|version)\\.ts$',
];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Import cycles make start-up order depend on who imported whom first (an import may see ' +
        'another module half-initialised), and tie modules that should be separable.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'shared-imports-no-service',
      severity: 'error',
      comment:
        'shared/ holds what two or more services use; it names no service. Code that needs a ' +
        "service's data belongs in that service (or reaches it through its view.ts).",
      from: { path: '^shared/' },
      to: { path: '^services/' },
    },
    {
      name: 'services-meet-only-through-views',
      severity: 'error',
      comment:
        "A service reads another service's data only through that service's read-only " +
        'services/<owner>/view.ts, so the owner keeps its key layout in one place. Test helpers ' +
        'count too: a helper that starts several services lives in test/.',
      from: { path: '^services/([^/]+)/' },
      to: {
        path: '^services/([^/]+)/',
        pathNot: ['^services/$1/', '^services/[^/]+/view\\.ts$'],
      },
    },
    {
      name: 'workers-call-no-http-operations',
      severity: 'error',
      comment:
        'A background job is not an HTTP exchange: workers call the domain and the store, never ' +
        'operations/ (which parse requests and answer responses).',
      from: { path: '^services/[^/]+/workers/' },
      to: { path: '^services/[^/]+/operations/' },
    },
    {
      name: 'pure-modules-do-no-io',
      severity: 'error',
      comment:
        'domain/ modules are pure (rules and calculations) so they are unit-tested exhaustively ' +
        'without Redis, files or a network: whatever reads a file or Redis passes its result in.',
      from: { path: PURE_MODULES },
      to: { path: [...IO_MODULES, ...IO_FILES] },
    },
  ],
  options: {
    // Packages are leaves: their own imports are theirs.
    doNotFollow: { path: '^node_modules/' },
    exclude: { path: '^dist/' },
    // A worktree's node_modules is a link to the main checkout's: keep its paths as `node_modules/…`
    // (resolved, they become `../main/node_modules/…`, which the rules above do not recognise).
    preserveSymlinks: true,
    // Count type-only imports too: a cycle through types still ties the modules together.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json'],
    },
    cache: { folder: 'node_modules/.cache/dependency-cruiser', strategy: 'content' },
  },
};
