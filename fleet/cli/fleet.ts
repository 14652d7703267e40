#!/usr/bin/env -S node --import tsx
/**
 * The `fleet` bin: the operator CLI (cli.ts). Run it from inside the repository (node resolves
 * `--import tsx` from the working directory) or anywhere with `npm run --prefix REPO fleet:cli -- ...`.
 */
import { runCli } from './cli.ts';

runCli(process.argv.slice(2), {
  out: (s) => process.stdout.write(s + '\n'),
  err: (s) => process.stderr.write(s + '\n'),
  env: process.env,
  isTTY: process.stdout.isTTY,
}).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`fleet: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
