export * from './intent.ts';
export * from './jobs.ts';
