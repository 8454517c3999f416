// purge and retention: forgetting on schedule, and saying what is kept.
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli.hpp"
#include "reports.hpp"

namespace veribind::cli {

int run_purge(const CommonOptions& common, const PurgeOptions& options) {
  const Output out(common.json);
  if (options.batch < 1 || options.batch > 1000000) {
    return out.error(ErrorCode::kInvalidArgument, "--batch must be 1..1000000");
  }
  auto stores = open_stores(common, OpenMode::kExisting);
  if (!stores) return out.error(stores.status());
  const Timestamp now = SystemClock().now();
  auto summary = purge_all(stores->verification(), now, options.batch);
  if (!summary) return out.error(summary.status());
  const PurgeCounts& total = summary->total;
  const std::size_t batches = summary->batches;
  if (out.json()) {
    out.emit(purge_json(*summary));
  } else {
    std::cout << "purged " << total.challenges << " expired challenge"
              << (total.challenges == 1 ? "" : "s") << " and " << total.counters
              << " ended rate-limit counter" << (total.counters == 1 ? "" : "s") << " in "
              << batches << " batch" << (batches == 1 ? "" : "es") << " of at most "
              << options.batch << " rows per kind\n";
  }
  return kExitOk;
}

int run_retention(const CommonOptions& common) {
  const Output out(common.json);
  auto stores = open_stores(common, OpenMode::kExisting);
  if (!stores) return out.error(stores.status());
  const Timestamp now = SystemClock().now();
  auto stats = stores->retention().retention_stats(now);
  if (!stats) return out.error(stats.status());

  if (out.json()) {
    out.emit(retention_json(*stats, now));
    return kExitOk;
  }
  const auto time_or_dash = [](const std::optional<Timestamp>& t) {
    return t ? iso8601_utc(*t) : std::string("-");
  };
  std::cout << std::left << std::setw(12) << "kind" << std::right << std::setw(9) << "rows"
            << std::setw(9) << "expired" << std::setw(12) << "bytes"
            << "  " << std::left << std::setw(22) << "oldest created"
            << "earliest expiry\n";
  for (const RowKindStats& s : *stats) {
    std::ostringstream bytes;
    bytes << s.bytes << (s.bytes_method == BytesMethod::kEstimate ? "~" : "");
    std::cout << std::left << std::setw(12) << s.kind << std::right << std::setw(9) << s.rows
              << std::setw(9) << s.expired << std::setw(12) << bytes.str() << "  " << std::left
              << std::setw(22) << time_or_dash(s.oldest_created) << time_or_dash(s.earliest_expiry)
              << '\n';
  }
  std::cout << "\nbytes: pages of each table and its indexes"
            << " (~ marks a per-row estimate); expired: what `veribind purge` removes now\n";
  for (const RowKindStats& s : *stats) {
    const RowKindDescription* d = describe_row_kind(s.kind);
    if (d == nullptr) continue;
    std::cout << '\n'
              << s.kind << "\n  kept     " << d->retention << "\n  reveals  " << d->reveals << '\n';
  }
  return kExitOk;
}

}  // namespace veribind::cli
