/// <reference types="vite/client" />
// The function modules convex-test loads (the file name has two dots, so the
// Convex bundler does not deploy it).
export const modules = import.meta.glob("./**/*.*s");
