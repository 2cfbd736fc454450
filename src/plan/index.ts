export { planAttach } from './attach.js';
export type { AttachPlanOptions } from './attach.js';
export { planDetach } from './detach.js';
export type { DetachPlanOptions } from './detach.js';
export { PlanContext } from './context.js';
