/**
 * A node's events from its store's: a transaction committed, applied or restored (`tx`),
 * databases created or dropped, a database refused.
 */
import type { Emitter, NodeEvent } from "../events.js";
import type { Store } from "../store/store.js";

/** Emits on `events` what the store's changes mean to the node's listeners. */
export function forwardStoreEvents(store: Store, events: Emitter<NodeEvent>): void {
  store.subscribe((event) => {
    if (event.type === "position" || event.type === "restored") {
      const db = store.get(event.name);
      if (db !== undefined) events.emit({ type: "tx", db: event.name, position: event.position, pageSize: db.pageSize, commit: db.pageCount });
    } else if (event.type === "created" || event.type === "dropped") {
      events.emit({ type: "databases" });
    } else if (event.type === "failed") {
      events.emit({ type: "refused", db: event.name, error: event.error });
    }
  });
}
