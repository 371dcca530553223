// Images for templates: the uploaded ones (newest first, a page at a time), each with its
// address to copy; an upload (a file chosen or dropped, sent as it is); and the template
// editor's picker, which inserts an image's address where the cursor was.
import { useId, useState, type ChangeEvent, type DragEvent } from "react";
import { apiUpload, ApiError } from "../api/client";
import { usePaged } from "../api/usePaged";
import { useMay } from "../auth/context";
import { Link } from "../router";
import { CopyButton } from "../ui/CopyButton";
import { ErrorNotice } from "../ui/ErrorNotice";
import { formatBytes } from "../ui/format";
import { ListFoot } from "../ui/ListFoot";
import { ReadOnly } from "../ui/ReadOnly";
import { Time } from "../ui/Time";
import { assetPath, IMAGE_TYPES, imageKind, loadAssets, sameAsset, type Asset } from "./assets";

const asApiError = (e: unknown) => (e instanceof ApiError ? e : new ApiError("internal", e instanceof Error ? e.message : String(e)));

/** An image as a small picture: served by this server, so the page may load it. */
function Thumbnail({ asset, size = 48 }: { asset: Asset; size?: number }) {
  // The name is beside it: the picture adds nothing a screen reader should read twice.
  return <img className="asset-thumb" src={assetPath(asset)} alt="" width={size} height={size} loading="lazy" decoding="async" />;
}

/** What the server says of a file it will never take (its type, its bytes, its size). */
const REFUSED = ["unsupported_media_type", "invalid_request", "payload_too_large"];

type Upload =
  | { state: "idle" }
  | { state: "uploading"; file: File }
  | { state: "done"; asset: Asset; again: boolean }
  | { state: "failed"; file: File; error: ApiError };

/**
 * Uploads a chosen or dropped file as it is (its bytes, its type): the server says whether it
 * takes it (an image of a kind it takes, 5 MiB at most). `onUploaded` has what it made, and
 * whether it was there already (the same bytes are the same image).
 */
function ImageUpload({ onUploaded }: { onUploaded: (asset: Asset) => boolean }) {
  const id = useId();
  const [upload, setUpload] = useState<Upload>({ state: "idle" });
  const [over, setOver] = useState(false);
  const busy = upload.state === "uploading";
  const send = (file: File) => {
    setUpload({ state: "uploading", file });
    apiUpload("/api/assets", file, { query: { name: file.name } }).then(
      (asset) => setUpload({ state: "done", asset, again: onUploaded(asset) }),
      (e: unknown) => setUpload({ state: "failed", file, error: asApiError(e) }),
    );
  };
  const chosen = (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    // Emptied, so that choosing the same file again uploads it again.
    e.target.value = "";
    if (file) send(file);
  };
  const dragOver = (e: DragEvent) => {
    if (busy || !e.dataTransfer.types.includes("Files")) return;
    e.preventDefault();
    setOver(true);
  };
  const drop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const file = e.dataTransfer.files[0];
    if (file && !busy) send(file);
  };
  return (
    <div
      className={`asset-upload${over ? " asset-upload-over" : ""}`}
      onDragOver={dragOver}
      // Leaving for one of its own parts is not leaving.
      onDragLeave={(e) => !e.currentTarget.contains(e.relatedTarget as Node | null) && setOver(false)}
      onDrop={drop}
    >
      <div className="field">
        <label htmlFor={id}>Upload an image</label>
        <input id={id} type="file" accept={IMAGE_TYPES.join(",")} disabled={busy} onChange={chosen} aria-describedby={`${id}-hint`} />
        <p className="muted" id={`${id}-hint`}>
          PNG, JPEG, GIF or WebP, at most 5 MB; or drop a file here. The same image uploaded again keeps its address.
        </p>
      </div>
      <p className="asset-upload-status" role="status">
        {upload.state === "uploading" ? (
          <>
            <span className="asset-spinner" aria-hidden="true" /> Uploading {upload.file.name} ({formatBytes(upload.file.size)})…
          </>
        ) : upload.state === "done" ? (
          upload.again ? (
            <>This image was uploaded before, as {upload.asset.name}: it is the one at the top.</>
          ) : (
            <>Uploaded {upload.asset.name}: it is the one at the top.</>
          )
        ) : null}
      </p>
      {upload.state === "failed" &&
        (REFUSED.includes(upload.error.code) ? (
          // The same file again would be refused again: no "Try again".
          <div className="notice notice-error" role="alert">
            <p>
              <strong>{upload.file.name} could not be uploaded</strong>: {upload.error.message} <code>{upload.error.code}</code>
            </p>
          </div>
        ) : (
          <ErrorNotice what={`${upload.file.name} could not be uploaded`} error={upload.error} onRetry={() => send(upload.file)} />
        ))}
    </div>
  );
}

function ImageTable({ assets }: { assets: Asset[] }) {
  return (
    <table className="table asset-table" aria-label="Images">
      <thead>
        <tr>
          <th scope="col">
            <span className="visually-hidden">Picture</span>
          </th>
          <th scope="col">Name</th>
          <th scope="col">Size</th>
          <th scope="col">Type</th>
          <th scope="col">Uploaded</th>
          <th scope="col">Address</th>
        </tr>
      </thead>
      <tbody>
        {assets.map((a) => (
          <tr key={a.hash}>
            <td>
              <Thumbnail asset={a} />
            </td>
            <td className="asset-name">{a.name}</td>
            <td className="nowrap">{formatBytes(a.size)}</td>
            <td>{imageKind(a.content_type)}</td>
            <td>
              <Time at={a.created_at} />
            </td>
            <td>
              <div className="asset-address">
                <code title={a.url}>{a.url}</code>
                <CopyButton text={a.url} label={`Copy address of ${a.name}`}>
                  Copy address
                </CopyButton>
              </div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The Content page's images: an upload for editors, and what was uploaded, newest first. */
export function ImagesSection() {
  const list = usePaged("assets", loadAssets);
  const editor = useMay("editor");
  const assets = list.state === "ready" ? list.items : [];
  const uploaded = (asset: Asset) => {
    const again = list.items.some((a) => sameAsset(a, asset));
    // Listed: at the top. Not (the list failed, or is still loading): the list again, which has it.
    if (list.state === "ready") list.prepend(asset, sameAsset);
    else list.reload();
    return again;
  };
  return (
    <section className="panel asset-section" aria-labelledby="images-title">
      <div className="page-head">
        <h2 id="images-title">Images</h2>
        {!editor && <ReadOnly />}
      </div>
      <p className="muted">
        Images that templates show, served by this server at an address that never changes: an email's <code>{'<img src="…">'}</code>, a push notification's
        or an in-app message's image. The template editor inserts an image's address where the cursor was.
      </p>
      {editor && <ImageUpload onUploaded={uploaded} />}
      {list.state === "loading" && (
        <p className="muted" role="status">
          Loading the images…
        </p>
      )}
      {list.state === "failed" && list.error && <ErrorNotice what="The images could not be listed" error={list.error} onRetry={list.reload} />}
      {list.state === "ready" &&
        (assets.length === 0 ? (
          <>
            <p>No images yet. {editor ? "Upload one above, or with the API:" : "An editor uploads them here, or with the API:"}</p>
            <pre tabIndex={0}>{`curl -X POST "${window.location.origin}/api/assets?name=logo.png" -H "Authorization: Bearer $TOKEN" \\
  -H 'content-type: image/png' --data-binary @logo.png`}</pre>
          </>
        ) : (
          <>
            <ImageTable assets={assets} />
            <ListFoot list={list} one="image" many="images" />
          </>
        ))}
    </section>
  );
}

/**
 * The template editor's images: opened, the uploaded ones (newest first, a page at a time), each
 * a button that inserts its address where the cursor was, as the variables do.
 */
export function ImagePicker({ onInsert }: { onInsert: (address: string) => void }) {
  const [open, setOpen] = useState(false);
  // Loaded the first time it opens (not before: most edits insert no image); closed and opened again, the same list.
  const [opened, setOpened] = useState(false);
  const listId = useId();
  const list = usePaged(opened ? "assets" : null, loadAssets);
  return (
    <section className="variables" aria-label="Images">
      <h2>Images</h2>
      <p className="muted">
        Click one to insert its address where the cursor was, as a variable is: a push notification's or an in-app message's image, or in HTML an{" "}
        <code>{'<img src="…" alt="…">'}</code>. Images are uploaded on <Link to="/content">the Content page</Link>.
      </p>
      <div>
        <button type="button" className="button button-small" aria-expanded={open} aria-controls={listId} onClick={() => (setOpen((o) => !o), setOpened(true))}>
          {open ? "Hide the images" : "Insert an image…"}
        </button>
      </div>
      <div id={listId} hidden={!open}>
        {opened && list.state === "loading" && (
          <p className="muted" role="status">
            Loading the images…
          </p>
        )}
        {list.state === "failed" && list.error && <ErrorNotice what="The images could not be listed" error={list.error} onRetry={list.reload} />}
        {list.state === "ready" &&
          (list.items.length === 0 ? (
            <p className="muted">No images uploaded yet.</p>
          ) : (
            <>
              <ul className="asset-picks" aria-label="Uploaded images">
                {list.items.map((a) => (
                  <li key={a.hash}>
                    <button type="button" className="asset-pick" title={a.url} onClick={() => onInsert(a.url)}>
                      <Thumbnail asset={a} size={32} />
                      <span>{a.name}</span>
                    </button>
                  </li>
                ))}
              </ul>
              <ListFoot list={list} one="image" many="images" />
            </>
          ))}
      </div>
    </section>
  );
}
