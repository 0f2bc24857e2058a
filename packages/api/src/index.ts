export * from './app';
export * from './waiting-room';
export * from './warmup';
