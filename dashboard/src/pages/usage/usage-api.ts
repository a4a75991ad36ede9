import { api, withQuery } from '../../api.js';
import type { Bucket, BucketPage } from './usage-types.js';

const MAX_PAGES = 20;

export interface BucketQuery {
  start_time: number;
  end_time: number;
  bucket_width: '1d' | '1h';
  group_by?: string;
}

/** Reads every page of a bucketed usage or costs answer (OpenAI pages with `next_page` → `page=`). */
export async function fetchBuckets<R>(path: string, q: BucketQuery): Promise<Array<Bucket<R>>> {
  const span = q.end_time - q.start_time;
  const perPage = q.bucket_width === '1d' ? Math.min(31, Math.max(1, Math.ceil(span / 86_400))) : Math.min(168, Math.max(1, Math.ceil(span / 3600)));
  const out: Array<Bucket<R>> = [];
  let page: string | null = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    const res: BucketPage<R> = await api<BucketPage<R>>(
      'GET',
      withQuery(path, { start_time: q.start_time, end_time: q.end_time, bucket_width: q.bucket_width, group_by: q.group_by, limit: perPage, page }),
    );
    out.push(...res.data);
    if (!res.has_more || !res.next_page) break;
    page = res.next_page;
  }
  return out.sort((a, b) => a.start_time - b.start_time);
}
