export * from "./paths.js";
export * from "./temp.js";
