// The PostgreSQL provider stores rows with the shared codec.
export * from "../codec.js";
