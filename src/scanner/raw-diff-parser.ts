// Incremental parser for git's `--raw -z` diff output, as printed by `git log --format=%x01%H --raw -z`
// and `git diff --cached --raw -z`. With -z each entry is `:<old mode> <new mode> <old oid> <new oid> <status>`
// NUL `<path>` NUL, so paths need no unquoting (see git-diff(1), "RAW OUTPUT FORMAT"); a commit line is
// `\x01<oid>` NUL, possibly followed by the newline that separates it from its entries. Pure.

/** A file whose new content is a blob, and the commit that recorded it (null outside `git log`). */
export interface RawChange {
  commit: string | null;
  oid: string;
  path: string;
}

// Submodules are commits of another repository, not blobs of this one.
const GITLINK_MODE = '160000';
const EMPTY = Buffer.alloc(0);

export class RawDiffParser {
  private rest: Buffer = EMPTY;
  private commit: string | null = null;
  private pending: { oid: string; mode: string } | null = null;
  /** Commit lines seen so far. */
  commits = 0;

  constructor(
    private readonly onChange: (change: RawChange) => void,
    private readonly onCommit: (commits: number) => void = () => {},
  ) {}

  /** Feeds a chunk; calls onChange for each complete entry that adds or changes a blob. */
  push(chunk: Buffer): void {
    const data = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    let start = 0;
    for (let nul = data.indexOf(0, start); nul !== -1; nul = data.indexOf(0, start)) {
      // Tokens end at NUL, never inside a UTF-8 sequence, so each decodes on its own.
      this.token(data.toString('utf8', start, nul));
      start = nul + 1;
    }
    this.rest = data.subarray(start);
  }

  /** Checks that the output ended between entries. */
  end(): void {
    if (this.rest.toString('utf8').trim() !== '' || this.pending) throw new Error('git diff output ended in the middle of an entry');
  }

  private token(token: string): void {
    if (this.pending) {
      const { oid, mode } = this.pending;
      this.pending = null;
      if (mode !== GITLINK_MODE && !/^0+$/.test(oid)) this.onChange({ commit: this.commit, oid, path: token });
      return;
    }
    const t = token.startsWith('\n') ? token.slice(1) : token;
    if (t.startsWith('\x01')) {
      this.commit = t.slice(1);
      this.commits++;
      this.onCommit(this.commits);
    } else if (t.startsWith(':')) {
      const fields = t.slice(1).split(' ');
      if (fields.length !== 5) throw new Error(`unexpected git diff entry: ${t}`);
      this.pending = { mode: fields[1], oid: fields[3] };
    } else if (t.trim() !== '') {
      throw new Error(`unexpected git diff output: ${t.slice(0, 80)}`);
    }
  }
}
