// Worker of the core-sharing probe (fma.ts): waits on a shared start flag so that all workers
// begin together, then measures one-thread FMA throughput and posts it back.
import { parentPort } from 'worker_threads';
import { native } from '../../lib/native';

interface ProbeRequest {
  flags: SharedArrayBuffer; // Int32 [0] = start flag, [1] = workers ready
  seconds: number;
}

parentPort!.on('message', (m: ProbeRequest) => {
  const f = new Int32Array(m.flags);
  Atomics.add(f, 1, 1);
  Atomics.notify(f, 1);
  Atomics.wait(f, 0, 0);
  parentPort!.postMessage(native.measureFmaPeak(m.seconds));
});
