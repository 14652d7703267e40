// Lint for the whole repo: JS recommended + typescript-eslint recommended + Svelte recommended.
// Types are checked by tsc and svelte-check (npm run check); this file is about habits.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/', 'ui/dist/', 'fleet/dashboard/dist/', 'models/**/*.onnx', '**/*.d.ts.map', 'device/tryon/simd/assembly/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    rules: {
      // `_`-prefixed names mark deliberately unused parameters (stage contracts, callbacks).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // typescript-eslint turns prefer-const on for .ts; `let x!: T` assigned after the closures
    // that read it (late binding between two parts) is fine. (.svelte has svelte/prefer-const.)
    files: ['**/*.ts'],
    rules: { 'prefer-const': ['error', { ignoreReadBeforeAssign: true }] },
  },
  ...svelte.configs.recommended,
  {
    // Tests read JSON bodies from real HTTP/MQTT answers and assert on them field by field;
    // typing every response shape in tests adds noise, not safety. Production code stays strict.
    files: ['tests/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The kiosk and the dashboard run in the browser.
    files: ['ui/src/**/*.{ts,svelte}', 'fleet/dashboard/src/**/*.{ts,svelte}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
);
