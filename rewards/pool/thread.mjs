// Entry of a checker-pool thread: worker threads start without the TypeScript loader that the
// parent (tsx, vitest) runs under, so register tsx here, then load the handler.
import { register } from 'tsx/esm/api';

register();
const { default: scoreInThread } = await import('./thread.ts');
export default scoreInThread;
