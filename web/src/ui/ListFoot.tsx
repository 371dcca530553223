import type { Paged } from "../api/usePaged";
import { ErrorNotice } from "./ErrorNotice";

/**
 * Under a list loaded a page at a time: how many are shown (and whether that is all), "Load more"
 * while there is a next page, and why the last next page failed.
 */
export function ListFoot<T>({ list, one, many }: { list: Paged<T>; one: string; many: string }) {
  const n = list.items.length;
  return (
    <>
      <div className="list-foot">
        <span className="muted" role="status">
          {n} {n === 1 ? one : many} shown{list.more ? "" : ", that is all"}
        </span>
        {list.more && (
          <button className="button" type="button" onClick={list.loadMore} disabled={list.loadingMore}>
            {list.loadingMore ? "Loading…" : "Load more"}
          </button>
        )}
      </div>
      {list.error && <ErrorNotice what={`The next ${many} could not be loaded`} error={list.error} onRetry={list.loadMore} />}
    </>
  );
}
