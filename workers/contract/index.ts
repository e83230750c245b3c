export * from './intent.ts';
export * from './jobs.ts';
export * from './errors.ts';
export * from './registry.ts';
export * from './source.ts';
export * from './targets.ts';
