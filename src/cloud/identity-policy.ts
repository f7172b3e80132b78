// When a run under --cloud auto may not accept what detection found, and what it then tells the operator. Pure.
import type { Cloud, CloudFacts } from '../domain.ts';
import { describeIdentity, describeMachine, type RememberedIdentity } from './remembered-identity.ts';

/** Retries after a silent first attempt take at most this long together. */
export const RETRY_BUDGET_MS = 10_000;

type ProbedCloud = Exclude<Cloud, 'none'>;

/** Why a silent metadata service is not taken to mean "off-cloud". */
export type Expectation =
  | { readonly cloud: ProbedCloud; readonly because: 'remembered'; readonly remembered: RememberedIdentity }
  | { readonly cloud: ProbedCloud; readonly because: 'dmi' };

/**
 * The cloud a run must see before it may go on off-cloud, if any. A remembered identity decides when there is one
 * (an off-cloud one was accepted before, possibly with --cloud none, so the firmware no longer matters); otherwise
 * a DMI hint does, unless the operator turned that cloud's probe off (AWS_EC2_METADATA_DISABLED).
 */
export function expectedCloud(input: {
  readonly remembered: RememberedIdentity | undefined;
  readonly dmiHint: ProbedCloud | undefined;
  readonly hintProbed: boolean;
}): Expectation | undefined {
  const { remembered, dmiHint } = input;
  if (remembered) {
    const cloud = remembered.cloud.cloud;
    return cloud === 'none' ? undefined : { cloud, because: 'remembered', remembered };
  }
  return dmiHint && input.hintProbed ? { cloud: dmiHint, because: 'dmi' } : undefined;
}

/**
 * Time slots (ms) of the retries after a first attempt of `firstTimeoutMs`: each slot is a detection with that
 * timeout, waited out in full when the service refuses at once, so that both a slow and a briefly unavailable
 * service get growing chances. Each doubles; together they never exceed `budgetMs`; a leftover shorter than the
 * first attempt is not worth another try.
 */
export function retrySlots(firstTimeoutMs: number, budgetMs: number = RETRY_BUDGET_MS): number[] {
  const slots: number[] = [];
  let remaining = budgetMs;
  let next = firstTimeoutMs * 2;
  while (remaining > 0) {
    const slot = Math.min(next, remaining);
    if (slots.length > 0 && slot < firstTimeoutMs) break;
    slots.push(slot);
    remaining -= slot;
    next *= 2;
  }
  return slots;
}

/** The refusal after every retry went unanswered. */
export function silentMetadataMessage(input: {
  readonly expected: Expectation;
  readonly attempts: number;
  readonly seconds: number;
  readonly rememberedPath: string;
  /** The node id the run would take off-cloud. */
  readonly offCloudNodeId: string;
}): string {
  const { expected, attempts, seconds, offCloudNodeId } = input;
  const silence = `no ${expected.cloud} metadata answered (${attempts} attempts over ${seconds} s)`;
  if (expected.because === 'remembered') {
    const r = expected.remembered;
    return `${silence}, but this node was identified as ${describeIdentity(r)} (remembered in ${input.rememberedPath}, ` +
      `last seen ${r.lastSeen}); refusing to switch to node id ${JSON.stringify(offCloudNodeId)}: fix metadata access, ` +
      `or pass --node-id ${r.nodeId} to keep the old id, or --cloud none to switch deliberately`;
  }
  return `${silence}, but the firmware (DMI) says this machine runs on ${expected.cloud}; refusing to use the ` +
    `off-cloud node id ${JSON.stringify(offCloudNodeId)}: fix metadata access, or pass --cloud none to use it ` +
    `deliberately, or --node-id`;
}

/** The refusal when metadata answered but the node id derived from it is not the remembered one. */
export function changedNodeIdMessage(input: {
  readonly remembered: RememberedIdentity;
  readonly rememberedPath: string;
  readonly nodeId: string;
  readonly hostname: string;
  readonly cloud: CloudFacts;
}): string {
  const { remembered: r, nodeId, cloud } = input;
  return `node id would change from ${JSON.stringify(r.nodeId)} to ${JSON.stringify(nodeId)}: this node was ` +
    `identified as ${describeMachine(r.cloud, r.hostname)} (remembered in ${input.rememberedPath}, last seen ` +
    `${r.lastSeen}) and is now ${describeMachine(cloud, input.hostname)}; refusing to move its backups silently: ` +
    `pass --node-id ${r.nodeId} to keep the old id, or --cloud ${cloud.cloud} to accept the new one`;
}
