#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's ESM loader: no build step to forget.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../bot/cli.ts');
process.exitCode = await main(process.argv, process.env);
