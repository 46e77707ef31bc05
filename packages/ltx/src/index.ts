export * from "./crc64.js";
