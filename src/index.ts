export * from './errors.js';
export * from './ring/index.js';
