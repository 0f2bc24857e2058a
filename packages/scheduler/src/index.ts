export * from './admin-app';
export * from './admission';
export * from './coordinator';
export * from './cron-task';
export * from './item-sync';
