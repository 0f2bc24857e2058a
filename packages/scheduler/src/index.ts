export * from './admin-app';
export * from './admission';
export * from './coordinator';
export * from './cron-task';
export * from './item-sync';
export * from './event-pipeline';
export * from './ledger';
export * from './outbox-relay';
