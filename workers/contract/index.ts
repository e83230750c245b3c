export * from './intent.ts';
export * from './jobs.ts';
export * from './errors.ts';
