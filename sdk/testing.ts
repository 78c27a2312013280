/**
 * `multigym/testing`: the plugin contract test (the checks of `multigym plugin test`) for a plugin's
 * own test suite, e.g. `checkEnvironmentContract(env, { policy: new PolicyClient({ url }), blobDir })`.
 */
export { PolicyClient } from '../policy/client.js';
export {
  type ContractCheck,
  type ContractOptions,
  checkCheckerContract,
  checkEnvironmentContract,
  checkPluginContract,
  nonJsonPath,
  trajectoryProblems,
} from './contract.js';
