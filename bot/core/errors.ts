/** Coded errors live in the worker contract (both processes raise and read them). */
export * from '../../workers/contract/errors.ts';
