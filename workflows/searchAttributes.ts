/**
 * Custom search attributes shown in the Temporal UI's workflow list. The dev server must know them:
 * `multigym dev` and the tests register them (`temporal server start-dev --search-attribute ...`).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const RUN_NAME = defineSearchAttributeKey('MultigymRunName', SearchAttributeType.KEYWORD);
export const STEP = defineSearchAttributeKey('MultigymStep', SearchAttributeType.INT);
export const MEAN_REWARD = defineSearchAttributeKey('MultigymMeanReward', SearchAttributeType.DOUBLE);

/** All keys, for registering with a server. */
export const multigymSearchAttributes = [RUN_NAME, STEP, MEAN_REWARD];

/** `--search-attribute` flags for `temporal server start-dev`. */
export const devServerSearchAttributeArgs = (): string[] => [
  '--search-attribute',
  'MultigymRunName=Keyword',
  '--search-attribute',
  'MultigymStep=Int',
  '--search-attribute',
  'MultigymMeanReward=Double',
];
