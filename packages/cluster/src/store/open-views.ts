/**
 * The copy-on-write views open on one database file: each keeps the bytes of the pages
 * the database overwrites or cuts off before it has read them.
 */
import { CowView, type ViewState } from "./page-view.js";

/** The views open on a database's file. */
export class OpenViews {
  private readonly views = new Set<CowView>();

  /** A new view of `file` showing `state` (released by the caller). */
  open(file: string, state: ViewState): CowView {
    const view = new CowView(file, state, (v) => this.views.delete(v));
    this.views.add(view);
    return view;
  }

  /** Every view not yet past `pgno` keeps the page's current bytes. */
  preserve(pgnos: Iterable<number>): void {
    if (this.views.size === 0) return;
    for (const pgno of pgnos) for (const view of this.views) view.preserve(pgno);
  }

  /** Every view keeps `data` as page `pgno` (its bytes before an overwrite). */
  preservePage(pgno: number, data: Uint8Array): void {
    for (const view of this.views) view.preserve(pgno, data);
  }

  /** A database shrinking from `oldCommit` pages to `commit`: the pages cut off are kept. */
  preserveCut(commit: number, oldCommit: number): void {
    if (commit < oldCommit) this.preserve(range(commit + 1, oldCommit));
  }

  /** The file was replaced under every view (they read the old one, nothing more to keep). */
  detachAll(): void {
    for (const view of this.views) view.detach();
  }

  /** Releases every view (the database closes). */
  releaseAll(): void {
    for (const view of [...this.views]) view.release();
  }
}

function* range(first: number, last: number): Generator<number> {
  for (let pgno = first; pgno <= last; pgno++) yield pgno;
}
