import type { Socket } from 'node:net';
import Redis from 'ioredis';

const CORKED = Symbol('changelog-reactor.corked');
type CorkableSocket = Socket & { [CORKED]?: boolean };
type Sender = { stream?: CorkableSocket; status: string; sendCommand(...args: unknown[]): unknown };

function uncork(socket: CorkableSocket): void {
  socket[CORKED] = false;
  socket.uncork();
}

/**
 * Makes every ioredis connection in the process send the commands of one event-loop turn in one
 * `writev`, instead of one write syscall per command.
 *
 * Why: on the VMs we measured, a syscall costs ~25 µs of CPU, and a worker spent a quarter of its main
 * thread in Redis socket writes. Under load BullMQ and the records issue several commands per turn
 * (one reply chunk resolves many promises; several webhooks arrive in one poll). ioredis' own
 * auto-pipelining would batch them too, but it copies every defined script (BullMQ defines ~50) into
 * each pipeline it builds, which costs more than it saves. Corking changes no command, no order and no
 * reply; the bytes only wait until the turn's I/O callbacks are done (setImmediate).
 *
 * Idempotent; applies to connections BullMQ creates as well, since it patches ioredis' prototype.
 */
export function coalesceRedisWrites(): void {
  const proto = Redis.prototype as unknown as Sender & { [CORKED]?: boolean };
  if (proto[CORKED]) return;
  proto[CORKED] = true;
  const send = proto.sendCommand;
  proto.sendCommand = function (this: Sender, ...args: unknown[]) {
    const socket = this.stream;
    // args[1] is a pipeline's own stream: a pipeline already writes its commands at once.
    if (args[1] === undefined && socket && this.status === 'ready' && !socket[CORKED] && socket.writable) {
      socket[CORKED] = true;
      socket.cork();
      setImmediate(uncork, socket);
    }
    return send.apply(this, args);
  };
}
