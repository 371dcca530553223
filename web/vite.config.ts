import { defineConfig } from "vitest/config";

export default defineConfig({
  // The server serves index.html at / (and for every client-side route) and the assets under /assets/.
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
  },
  // The example journeys (../examples) are part of the page's empty state.
  server: { fs: { allow: [".."] } },
  test: {
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
