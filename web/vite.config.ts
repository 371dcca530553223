import { defineConfig } from "vitest/config";

/**
 * `npx vite` answers /api, /v1 and uploaded images (/a/) from a running server: WAYFARER_URL, by
 * default the server's own default address.
 */
const server = process.env.WAYFARER_URL ?? "http://127.0.0.1:8420";

export default defineConfig({
  // The server serves index.html at / (and for every client-side route) and the assets under /assets/.
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    rolldownOptions: {
      onwarn(warning, warn) {
        // React Flow marks itself "use client" for React Server Components; a client-only bundle has no use for it.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
        warn(warning);
      },
    },
  },
  // The example journeys (../examples) are part of the page's empty state.
  server: { fs: { allow: [".."] }, proxy: { "/api": server, "/v1": server, "/a/": server } },
  test: {
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test-setup.ts"],
  },
});
