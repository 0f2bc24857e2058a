export * from './app';
export * from './waiting-room';
export * from './warmup';
export * from './fast-path';
