// Images uploaded to the server (`/api/assets`), served by the hash of their bytes at
// `/a/{sha256}.{ext}`: their address goes into templates (an email's <img src>, a push
// notification's or an in-app message's image).
import { apiGet, type Schemas } from "../api/client";
import type { Page } from "../api/usePaged";

export type Asset = Schemas["AssetView"];

/** Images a page. */
export const ASSETS_PAGE = 50;

/** What the server takes, as the file input offers it. */
export const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"] as const;

/** The largest image the server takes (5 MiB). */
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

/** A page of the images, newest first. */
export async function loadAssets(cursor: string | undefined, signal: AbortSignal): Promise<Page<Asset>> {
  const page = await apiGet("/api/assets", { query: { limit: ASSETS_PAGE, cursor }, signal });
  return { items: page.assets, next: page.next_cursor ?? null };
}

/** The same image: the same bytes. */
export const sameAsset = (a: Asset, b: Asset) => a.hash === b.hash;

/**
 * Where the page itself loads an image from: its path on this server. Its `url` is absolute when
 * the server has `tracking.base_url` (as emails need), which may be another origin than the one
 * the page is served from (and the page loads nothing from elsewhere); `/a/{file}` is the same
 * image here.
 */
export function assetPath(asset: Asset): string {
  const file = asset.url.split(/[?#]/)[0].split("/").pop() ?? "";
  return `/a/${encodeURIComponent(file)}`;
}

/** "PNG", "JPEG", "GIF", "WebP": the kind of an image, from its content type. */
export function imageKind(contentType: string): string {
  const kind = contentType.replace(/^image\//, "");
  return kind === "webp" ? "WebP" : kind.toUpperCase();
}
