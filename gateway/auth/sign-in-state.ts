/**
 * What sign-in shares between gateway instances besides sessions (pending sign-ins, seen webhook
 * deliveries), and the in-memory implementation for one instance. Light on purpose: the database
 * implementation (store.ts) loads MikroORM and its drivers, which a gateway that keeps sign-in in
 * memory does not pay for.
 */
import type { EventPublisher } from './routes';
import type { SessionStore } from './sessions';

/** A sign-in between the redirect to the issuer and its callback, keyed by its `state`. */
export interface PendingLogin {
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** What the sign-in routes share between gateway instances besides sessions. */
export interface SignInStateStore {
  putPendingLogin(state: string, login: PendingLogin): Promise<void>;
  /** The pending login of `state`, removed: a second call (on any instance) gets undefined. */
  takePendingLogin(state: string): Promise<PendingLogin | undefined>;
  /** True the first time `signature` is seen (kept until `until`), false for a replay. */
  firstDelivery(signature: string, until: number): Promise<boolean>;
}

/**
 * Pending sign-ins and seen webhook signatures in this process's memory, for one gateway
 * instance and tests; expired entries are pruned on each write.
 */
export function createMemorySignInState(now: () => number = Date.now): SignInStateStore {
  const pending = new Map<string, PendingLogin>();
  const seen = new Map<string, number>();
  const prune = () => {
    const at = now();
    for (const [state, p] of pending) if (p.expiresAt <= at) pending.delete(state);
    for (const [sig, until] of seen) if (until <= at) seen.delete(sig);
  };
  return {
    async putPendingLogin(state, login) {
      prune();
      pending.set(state, login);
    },
    async takePendingLogin(state) {
      const login = pending.get(state);
      pending.delete(state);
      return login && login.expiresAt > now() ? login : undefined;
    },
    async firstDelivery(signature, until) {
      prune();
      if (seen.has(signature)) return false;
      seen.set(signature, until);
      return true;
    },
  };
}

/** Sign-in's shared state and its events' publisher, as `createSignIn` takes them. */
export interface SignInStores {
  sessions: SessionStore;
  state: SignInStateStore;
  /** Publishes sign-in's user events (through an outbox, for the database stores). */
  kafka: EventPublisher;
  /** Starts and stops what publishes (the outbox relay). */
  start(): void;
  stop(): Promise<void>;
}
