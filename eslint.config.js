// ESLint flat config: typescript-eslint's type-checked rules over every TypeScript file.
// Import cycles and layer rules (which folder may import which) are dependency-cruiser's job:
// see .dependency-cruiser.cjs. `npm run lint` runs both.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', '.data/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A promise nobody awaits loses its rejection (an audit write that fails silently); `void` marks the
      // deliberate ones. Immediately-invoked async functions are checked too.
      '@typescript-eslint/no-floating-promises': ['error', { checkThenables: true }],
      '@typescript-eslint/no-misused-promises': 'error',
      // Type-only imports are erased: with verbatimModuleSyntax they must say so, and a reader sees
      // which imports are values.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      // Tuned for this codebase (each with its reason):
      // - Fields are dropped by destructuring (`const { id: _id, ...rest } = r`) and Express error
      //   handlers must declare four parameters; tsc's noUnused* already checks the rest.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // - Implementations of Promise-returning interfaces (stores, key resolvers, test fakes) are
      //   `async` without awaiting, so a throw becomes a rejection as callers expect; rewriting them
      //   as `Promise.resolve(...)` would read worse and lose that.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests read supertest's `res.body` and use Jest's asymmetric matchers (`expect.any(...)`),
    // which their libraries type as `any`: the assertions themselves check the shape.
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  {
    // Plain JavaScript (test infrastructure, the bin shim, configs) is not in any tsconfig.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
