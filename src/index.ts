/**
 * pipefitter as a library: the same operations as the CLI, typed.
 *
 * @example
 * import { attach, detach, show } from 'pipefitter';
 * await attach({ target: 'web', bridge: 'br-lab', ip: '192.0.2.10/24', gateway: '192.0.2.1' });
 * console.log((await show('web')).interfaces.map((i) => i.name));
 * await detach({ target: 'web', ifname: 'eth1' });
 */
export { attach, attachRequests, detach } from './api/attach.js';
export type { AttachOptions } from './api/attach.js';
export { show } from './api/show.js';
export type { AddressView, InterfaceView, RouteView, ShowView } from './api/show.js';
export type { Outcome, RunOptions } from './api/engine.js';
export type { AttachInput, DetachInput, PairInput, IfaceInput } from './model/input.js';
export { parseAttachInput, parseDetachInput, parsePairInput } from './model/input.js';
export { PipefitterError, isPipefitterError, exitCodeFor, formatError, EXIT } from './errors.js';
export type { ErrorCode, FailureReason } from './errors.js';
export { renderScript } from './render/script.js';
export { applyPlan } from './exec/apply.js';
export type { ApplyHooks, ApplyReport } from './exec/apply.js';
export { createRunner } from './exec/runner.js';
export type { Runner, RunResult } from './exec/runner.js';
export type { Plan, Step, Command, Arg } from './model/step.js';
export type { NetnsRef } from './model/netns.js';
export type { TargetSpec, ResolvedTarget } from './model/target.js';
export { plan, apply, status, destroy } from './api/recipe.js';
export type { RecipeOptions, RecipeReport, StatusReport, Drift } from './api/recipe.js';
export { loadRecipe, recipeFromText } from './recipe/load.js';
export type { Recipe } from './model/recipe.js';
export { passthrough } from './api/compat.js';
export type { PassthroughOptions } from './api/compat.js';
export type { CommandOutput } from './observe/passthrough.js';
export { isReadOnlyPassthrough } from './plan/passthrough.js';
export { waitForInterface } from './api/wait.js';
export type { IpamStore, Allocation } from './ipam/store.js';
export { openFileStore } from './ipam/store.js';
export { allocationsInUse, collectAllocations, listAllocations, releaseAllocations } from './api/ipam.js';
export type { AllocationInUse, IpamOptions, ReleaseReport, ReleaseRequest } from './api/ipam.js';
