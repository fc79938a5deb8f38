"""Live coverage: feeds and links become article files in the corpus folder (docs/feeds.md).

The corpus folder stays the single source of truth: this package only writes JSON article files
into it (atomically, named from the canonical URL's hash) and keeps its own state in a hidden
file there; the incremental indexer does the rest. Modules:

- `feeds`: the feeds file (TOML) and feed documents (RSS/Atom via feedparser, JSON Feed);
- `http`: the one seam to the network (`HttpClient`, `HttpxClient`): timeouts, size cap,
  redirect limit, User-Agent, conditional requests, per-host delay, the address rule;
- `robots`: robots.txt, read once per host and run;
- `extract`: article text and metadata from a page (trafilatura);
- `corpus`: the atomic article-file writer;
- `state`: fetch state (validators, seen entries, errors, back-off) in `.newsbot-fetch.json`;
- `fetcher`: `Fetcher.fetch_feeds()` and `Fetcher.add(urls)`, returning a `FetchReport`;
- `errors`: the error types (importing them loads nothing else; this package re-exports nothing,
  so `bot.core` can name them without loading httpx).
"""
