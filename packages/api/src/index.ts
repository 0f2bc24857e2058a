export * from './app';
export * from './entry-pass';
export * from './fast-path';
export * from './identity';
export * from './operations';
export * from './rate-limit';
export * from './waiting-room';
export * from './warmup';
