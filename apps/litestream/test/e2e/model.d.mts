/** A row of the e2e table `t`. */
export interface ModelRow {
  id: number;
  v: string;
  h: number;
}
export declare function payload(id: number, version: number): string;
export declare function rowHash(id: number, version: number): number;
export declare function modelRow(id: number, k: number): ModelRow | undefined;
export declare function modelRows(k: number): ModelRow[];
export declare const SCHEMA: string;
export declare function prepareTransactions(db: unknown): (i: number) => void;
