/** Options of attach planning. */
export interface AttachPlanOptions {
  /** Replace an interface of the same name that has other settings (or is not pipefitter's). @default false */
  readonly replace?: boolean;
  /** Allow moving a host interface that carries the host's default route. @default false */
  readonly force?: boolean;
  /**
   * Accept an address that another container on the same bridge (and VLAN) already has, or the
   * bridge itself: refused otherwise (E_CONFLICT, exit 2). @default false
   */
  readonly allowDuplicateAddress?: boolean | undefined;
}
